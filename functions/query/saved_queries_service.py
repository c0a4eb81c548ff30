"""Saved tracking searches and the last searches of a tenant: the logic behind the routes."""

from __future__ import annotations

from mailgate.api.errors import BadRequest, Conflict, NotFound
from mailgate.api.models import (
    RecentQueryItem,
    SavedQueries,
    SavedQueryItem,
    SaveQuery,
    TrackingSearch,
)
from mailgate.clock import iso, utcnow
from mailgate.observability import logger
from mailgate.search.saved import (
    MAX_BODY,
    MAX_SAVED,
    StoredQuery,
    body_digest,
    body_size,
    stored_body,
)
from mailgate.storage.saved_queries import Saved, SavedQueryStore


class SavedQueryService:
    def __init__(self, store: SavedQueryStore) -> None:
        self._store = store

    def list(self, tenant_id: str) -> SavedQueries:
        return SavedQueries(
            saved=[
                SavedQueryItem(name=q.name, body=q.body, saved_at=iso(q.at))
                for q in self._store.saved(tenant_id)
            ],
            recent=[
                RecentQueryItem(body=q.body, searched_at=iso(q.at))
                for q in self._store.recent(tenant_id)
            ],
        )

    def save(self, tenant_id: str, request: SaveQuery) -> SavedQueries:
        body = stored_body(request.body)
        size = body_size(body)
        if size > MAX_BODY:
            raise BadRequest(
                "query_too_large",
                f"A saved query's body is at most {MAX_BODY // 1024} KB of JSON; "
                f"this one is {size / 1024:.1f} KB.",
            )
        saved = self._store.save(tenant_id, StoredQuery(request.name, body, utcnow()))
        if saved is Saved.NAME_TAKEN:
            raise Conflict(
                "query_name_taken",
                f"A saved query is already named {request.name!r}; pick another name "
                "or delete that query first.",
            )
        if saved is Saved.FULL:
            raise Conflict(
                "too_many_saved_queries",
                f"You can keep at most {MAX_SAVED} saved queries; delete one to save another.",
            )
        return self.list(tenant_id)

    def delete(self, tenant_id: str, name: str) -> SavedQueries:
        if not self._store.delete(tenant_id, name.strip()):
            raise NotFound("query_not_found", f"No saved query is named {name!r}.")
        return self.list(tenant_id)

    def remember(self, tenant_id: str, request: TrackingSearch) -> None:
        """Keep a search's first page among the recent ones (later pages are the same
        search). A search whose body is too large to keep, or whose keeping fails, is still
        answered: the list of recent searches is a convenience."""
        if request.cursor is not None:
            return
        body = stored_body(request)
        if body_size(body) > MAX_BODY:
            return
        try:
            self._store.remember(tenant_id, StoredQuery("", body, utcnow()), body_digest(body))
        except Exception:
            logger.exception("recent search not kept")
