"""Data-subject requests (GDPR erasure and right of access) on the collector's admin API.

``POST /admin/v1/tenants/{tenant_id}/erasures`` erases a person from every store and
``GET /admin/v1/tenants/{tenant_id}/subjects`` exports what is held about them. Both take the
person as exactly one of ``user_id``, ``anonymous_id`` or ``email`` and are for the operator
only (the admin token, never a tenant key): a shop's key could otherwise erase or read a
person by guessing ids. The work itself lives in :mod:`intellishop.privacy`, shared with the CLI.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from intellishop.privacy import (
    LoaderBusyError,
    SubjectKind,
    SubjectRequest,
    erase_subject,
    export_subject,
)
from intellishop.settings import Settings
from intellishop.tenants import TENANT_ID_PATTERN, TenantRegistry

from ..deps import SettingsDep
from .admin import require_admin

router = APIRouter(
    prefix="/admin/v1/tenants/{tenant_id}",
    tags=["privacy"],
    dependencies=[Depends(require_admin)],
)
REQUESTER = "admin-api"


class SubjectIds(BaseModel):
    """Exactly one way of naming the person."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(default=None, min_length=1, max_length=512)
    anonymous_id: str | None = Field(default=None, min_length=1, max_length=512)
    email: str | None = Field(default=None, min_length=3, max_length=320)


def _subject(settings: Settings, tenant_id: str, ids: SubjectIds) -> SubjectRequest:
    given = [(kind, value) for kind, value in ids.model_dump().items() if value is not None]
    if len(given) != 1:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="name the person by exactly one of user_id, anonymous_id or email",
        )
    if not TENANT_ID_PATTERN.match(tenant_id) or (
        TenantRegistry(settings.tenants_db_path).get(tenant_id) is None
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no tenant {tenant_id!r}")
    kind, value = given[0]
    return SubjectRequest(tenant_id, SubjectKind(kind), value)


def _loader_busy(error: LoaderBusyError) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error), headers={"Retry-After": "30"}
    )


@router.post("/erasures", summary="Erase a person from every store (GDPR art. 17)")
def create_erasure(tenant_id: str, ids: SubjectIds, settings: SettingsDep) -> dict[str, Any]:
    """Erase now; ``warehouse_status`` is ``pending`` when a pipeline run held the warehouse
    (finished by the next erasure, ``intellishop privacy apply-pending`` or the next run)."""
    subject = _subject(settings, tenant_id, ids)
    try:
        return erase_subject(settings, subject, requested_by=REQUESTER).to_dict()
    except LoaderBusyError as error:
        raise _loader_busy(error) from error


@router.get("/subjects", summary="Everything held about a person (GDPR art. 15)")
def export_subject_data(
    tenant_id: str,
    settings: SettingsDep,
    user_id: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
    anonymous_id: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
    email: Annotated[str | None, Query(min_length=3, max_length=320)] = None,
) -> dict[str, Any]:
    subject = _subject(
        settings, tenant_id, SubjectIds(user_id=user_id, anonymous_id=anonymous_id, email=email)
    )
    try:
        return export_subject(settings, subject, requested_by=REQUESTER)
    except LoaderBusyError as error:
        raise _loader_busy(error) from error
