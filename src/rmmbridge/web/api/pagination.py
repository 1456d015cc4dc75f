"""One way to paginate lists everywhere: ``page`` / ``page_size`` in, ``items`` + ``total`` out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
MAX_PAGE_SIZE = 500


class PageParams(BaseModel):
    page: int = 1
    page_size: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def _page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 50,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


Paging = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int


async def paginate(session: AsyncSession, query: Select, params: PageParams) -> tuple[list, int]:  # type: ignore[type-arg]
    """Rows of one page and the total, from one ordered ``select``."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list((await session.execute(query.limit(params.page_size).offset(params.offset))).all())
    return rows, int(total)


def make_page(items: list[T], total: int, params: PageParams) -> Page[T]:
    pages = max(1, -(-total // params.page_size))
    return Page[T](items=items, total=total, page=params.page, page_size=params.page_size, pages=pages)
