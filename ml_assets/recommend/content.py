"""Content-based similar products: TF-IDF over product text and attributes, cosine neighbours.

Each product becomes a document: its name, category, brand, and attribute tokens (a price band
such as ``price_band_3``: log2 of the price, so a 20 and a 25 item share a band and a 20 and a
200 item do not). scikit-learn's ``TfidfVectorizer`` (word unigrams and bigrams, sublinear tf)
weights the words, so a rare shared word ("espresso") counts more than a common one ("the");
neighbours are the highest cosine similarities within the tenant.

It needs no interactions, so it covers products nobody has touched yet (cold-start items):
a new product's neighbours are known the day it enters the catalog. Assumes similar words
mean similar products, which holds for names and categories and fails for jargon-free
catalogs (then only the category matches).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from sklearn.feature_extraction.text import TfidfVectorizer

from .copurchase import SIMILAR_SCHEMA

#: Products compared per block of the similarity product (bounds memory: block x catalog).
BLOCK = 1024


def _document(
    name: str | None, category: str | None, brand: str | None, price: float | None
) -> str:
    words = [name or "", category or "", brand or ""]
    if category:
        words.append("category_" + "_".join(category.lower().split()))
    if brand:
        words.append("brand_" + "_".join(brand.lower().split()))
    if price is not None and price > 0:
        words.append(f"price_band_{int(math.log2(price + 1))}")
    return " ".join(words)


def content_similar(products: pl.DataFrame, *, top_k: int = 20) -> pl.DataFrame:
    """``SIMILAR_SCHEMA`` rows (algorithm ``content``) for every tenant of ``products``.

    ``products`` has tenant_id and product_id, and any of name, category, brand, price.
    """
    frames = []
    for (tenant,), group in products.partition_by("tenant_id", as_dict=True).items():
        frames.append(_tenant_similar(str(tenant), group, top_k))
    if not frames:
        return pl.DataFrame(schema=SIMILAR_SCHEMA)
    return pl.concat(frames).select(list(SIMILAR_SCHEMA))


def _tenant_similar(tenant: str, products: pl.DataFrame, top_k: int) -> pl.DataFrame:
    frame = products.unique("product_id", keep="last").sort("product_id")
    columns = {
        name: frame[name] if name in frame.columns else None
        for name in ("name", "category", "brand", "price")
    }
    ids = frame["product_id"].cast(pl.String).to_list()
    docs = [
        _document(
            _text(columns["name"], i),
            _text(columns["category"], i),
            _text(columns["brand"], i),
            _number(columns["price"], i),
        )
        for i in range(len(ids))
    ]
    k = min(top_k, len(ids) - 1)
    if k < 1 or not any(doc.strip() for doc in docs):
        return pl.DataFrame(schema=SIMILAR_SCHEMA)
    vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit_transform(docs)
    out_ids: list[str] = []
    out_similar: list[str] = []
    out_scores: list[float] = []
    for start in range(0, len(ids), BLOCK):
        block = (vectors[start : start + BLOCK] @ vectors.T).toarray()
        rows = np.arange(block.shape[0])
        block[rows, rows + start] = -1.0
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        scores = np.take_along_axis(block, top, axis=1)
        for row in range(block.shape[0]):
            for column, score in zip(top[row], scores[row], strict=True):
                if score > 0:
                    out_ids.append(ids[start + row])
                    out_similar.append(ids[int(column)])
                    out_scores.append(float(score))
    return (
        pl.DataFrame(
            {"product_id": out_ids, "similar_product_id": out_similar, "score": out_scores},
            schema={
                "product_id": pl.String(),
                "similar_product_id": pl.String(),
                "score": pl.Float64(),
            },
        )
        .with_columns(pl.col("score").round(6))
        .sort(["product_id", "score", "similar_product_id"], descending=[False, True, False])
        .with_columns(
            pl.lit(tenant).alias("tenant_id"),
            (pl.int_range(pl.len()).over("product_id") + 1).cast(pl.Int32).alias("rank"),
            pl.lit("content").alias("algorithm"),
        )
    )


def _text(column: pl.Series | None, index: int) -> str | None:
    if column is None:
        return None
    value = column[index]
    return None if value is None else str(value)


def _number(column: pl.Series | None, index: int) -> float | None:
    if column is None:
        return None
    value = column[index]
    return float(value) if isinstance(value, int | float) else None
