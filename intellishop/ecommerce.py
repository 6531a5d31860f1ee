"""Segment's e-commerce v2 events as typed property objects.

The collector checks the ``properties`` of every track event whose name is in
:data:`PROPERTIES_BY_EVENT` against its struct, so a product with ``price: "abc"`` or an order
without ``order_id`` is refused at the door with the field path, instead of becoming a null
revenue in a dashboard weeks later. The stored properties stay exactly as sent (with any extra
keys a shop adds): these structs check, they do not reshape. Event names not listed here are
custom events and their properties are only size-checked.

Numbers are accepted as JSON numbers or numeric strings (``"19.99"``: some shop platforms send
those, and the staging model casts both); NaN, infinities and amounts the warehouse cannot hold
are refused.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

#: Money amounts: what the warehouse's money type (numeric(18, 4)) holds; this also refuses NaN
#: and infinity, so one bad event cannot make a staging cast fail for the whole tenant.
Money = Annotated[float, Meta(gt=-1e14, lt=1e14)]
#: Quantities of a product in a cart or order.
Quantity = Annotated[int, Meta(ge=0, le=1_000_000)]
#: Quantity of an add/remove: at least one item moves.
PositiveQuantity = Annotated[int, Meta(ge=1, le=1_000_000)]
#: Product and order ids: Segment says string; many platforms send numbers.
Identifier = Annotated[str, Meta(max_length=255)] | int
#: A 1-based position in a list or a checkout step.
Position = Annotated[int, Meta(ge=0, le=1_000_000)]
Text = Annotated[str, Meta(max_length=2048)]
Currency = Annotated[str, Meta(min_length=3, max_length=3)]
#: Cart and order lines: an order of more lines than this is a client bug.
MAX_PRODUCTS = 1000


class Product(msgspec.Struct, forbid_unknown_fields=False):
    """One product, as carried in ``products[]`` and by the single-product events."""

    product_id: Identifier | None = None
    sku: Text | None = None
    category: Text | None = None
    name: Text | None = None
    brand: Text | None = None
    variant: Text | None = None
    price: Money | None = None
    quantity: Quantity | None = None
    coupon: Text | None = None
    position: Position | None = None
    url: Text | None = None
    image_url: Text | None = None


Products = Annotated[list[Product], Meta(max_length=MAX_PRODUCTS)]


class ProductEvent(Product, forbid_unknown_fields=False):
    """Product Clicked, Product Viewed, Product Shared, Product Reviewed and the wishlist events."""

    cart_id: Identifier | None = None
    wishlist_id: Identifier | None = None
    wishlist_name: Text | None = None
    currency: Currency | None = None
    value: Money | None = None
    review_id: Identifier | None = None
    rating: Annotated[float, Meta(ge=0, le=1000)] | None = None


class CartChangeEvent(ProductEvent, forbid_unknown_fields=False):
    """Product Added / Product Removed: at least one item moves, so quantity is 1 or more."""

    quantity: PositiveQuantity | None = None


class ProductListEvent(msgspec.Struct, forbid_unknown_fields=False):
    """Products Searched, Product List Viewed / Filtered, Cart Viewed, Cart Shared."""

    query: Text | None = None
    list_id: Identifier | None = None
    cart_id: Identifier | None = None
    category: Text | None = None
    products: Products | None = None
    filters: list[dict[str, Any]] | None = None
    sorts: list[dict[str, Any]] | None = None


class PromotionEvent(msgspec.Struct, forbid_unknown_fields=False):
    """Promotion Viewed / Clicked (Segment's position here is a slot name, not a number)."""

    promotion_id: Identifier | None = None
    creative: Text | None = None
    name: Text | None = None
    position: Text | int | None = None


class OrderFields(msgspec.Struct, forbid_unknown_fields=False):
    """An order or checkout: amounts in ``currency``; ``revenue`` excludes shipping and tax."""

    order_id: Identifier | None = None
    checkout_id: Identifier | None = None
    affiliation: Text | None = None
    total: Money | None = None
    subtotal: Money | None = None
    revenue: Money | None = None
    shipping: Money | None = None
    tax: Money | None = None
    discount: Money | None = None
    coupon: Text | None = None
    currency: Currency | None = None
    products: Products | None = None


class OrderEvent(OrderFields, forbid_unknown_fields=False):
    """Order Completed / Updated / Refunded / Cancelled: about one order, so ``order_id`` is due."""

    order_id: Identifier  # type: ignore[misc]  # required here, optional on checkouts


class CheckoutStepEvent(msgspec.Struct, forbid_unknown_fields=False):
    """Checkout Step Viewed / Completed and Payment Info Entered."""

    checkout_id: Identifier | None = None
    order_id: Identifier | None = None
    step: Position | None = None
    shipping_method: Text | None = None
    payment_method: Text | None = None


class CouponEvent(msgspec.Struct, forbid_unknown_fields=False):
    """Coupon Entered / Applied / Denied / Removed."""

    order_id: Identifier | None = None
    cart_id: Identifier | None = None
    coupon_id: Identifier | None = None
    coupon_name: Text | None = None
    discount: Money | None = None
    reason: Text | None = None


#: Segment e-commerce v2 event name -> the struct its properties must fit.
PROPERTIES_BY_EVENT: dict[str, type[msgspec.Struct]] = {
    "Products Searched": ProductListEvent,
    "Product List Viewed": ProductListEvent,
    "Product List Filtered": ProductListEvent,
    "Promotion Viewed": PromotionEvent,
    "Promotion Clicked": PromotionEvent,
    "Product Clicked": ProductEvent,
    "Product Viewed": ProductEvent,
    "Product Added": CartChangeEvent,
    "Product Removed": CartChangeEvent,
    "Cart Viewed": ProductListEvent,
    "Checkout Started": OrderFields,
    "Checkout Step Viewed": CheckoutStepEvent,
    "Checkout Step Completed": CheckoutStepEvent,
    "Payment Info Entered": CheckoutStepEvent,
    "Order Completed": OrderEvent,
    "Order Updated": OrderEvent,
    "Order Refunded": OrderEvent,
    "Order Cancelled": OrderEvent,
    "Coupon Entered": CouponEvent,
    "Coupon Applied": CouponEvent,
    "Coupon Denied": CouponEvent,
    "Coupon Removed": CouponEvent,
    "Product Added to Wishlist": ProductEvent,
    "Product Removed from Wishlist": ProductEvent,
    "Wishlist Product Added to Cart": CartChangeEvent,
    "Product Shared": ProductEvent,
    "Cart Shared": ProductListEvent,
    "Product Reviewed": ProductEvent,
}


def check_properties(event: str, properties: dict[str, Any]) -> msgspec.ValidationError | None:
    """The first error in an e-commerce event's properties, or None (also for custom events).

    The error's path is relative to ``properties`` (``$.products[1].price``).
    """
    spec = PROPERTIES_BY_EVENT.get(event)
    if spec is None:
        return None
    try:
        msgspec.convert(properties, spec, strict=False)
    except msgspec.ValidationError as exc:
        return exc
    return None
