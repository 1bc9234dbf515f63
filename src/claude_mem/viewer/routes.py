"""The viewer's routes: which page or JSON answers which address, and the one change.

Contract (every function here runs after the handler admitted the request through
``access.check``; see ``server.py``):
- Pages: ``/`` live feed and status panel, ``/session/ID`` timeline, ``/obs/ID``,
  ``/search``, ``/status``, ``/settings``; ``/static/`` the stylesheet and script.
- JSON under ``/api/``: ``feed``, ``events`` (``feed.stream``), ``status``
  (``health.status()``, the same report as ``claude-mem status --json``), ``search``,
  ``sessions``, ``sessions/ID``, ``observations/ID``, ``settings``.
- ``change_setting(handler, form)``: POST ``/settings`` from the page's own form (after
  ``access.check_write``), through the CLI's checked ``config.set_value``; the worker is
  stopped so the next event starts one with the new value, as ``claude-mem config set``
  does. The viewer never writes to the database.
- A bad value raises ``params.BadRequest``, a missing row ``params.NotFound``.
"""
from __future__ import annotations

import os

from claude_mem import config, log
from claude_mem.viewer import access, feed, pages
from claude_mem.viewer.params import BadRequest, NotFound, record_id, whole_number

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
STATIC_TYPES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}


def settings_editable() -> bool:
    """The page can change settings only through the CLI's own checked writer (config.set_value)."""
    return hasattr(config, "set_value") and hasattr(config, "unset_value")


def page(handler, parts: list[str], query: dict) -> None:
    """A GET of a page, the static files or ``/api/…`` (already admitted)."""
    if parts[:1] == ["api"]:
        return api(handler, parts[1:], query)
    if parts[:1] == ["static"] and len(parts) == 2 and parts[1] in STATIC_TYPES:
        with open(os.path.join(STATIC_DIR, parts[1]), "rb") as fh:
            return handler.send(200, fh.read(), STATIC_TYPES[parts[1]])
    if parts == ["favicon.ico"]:
        return handler.send(204, b"", "image/x-icon")
    if not parts:
        filters = feed.feed_filters(query)  # validates; the script reads them from the address
        with feed.open_store() as store:
            projects = store.projects_by_recency()
        return handler.send_html(pages.feed_page(projects, feed.status_report()["text"],
                                                 project=filters["project"] or "",
                                                 type_=query.get("type") or ""))
    if parts == ["status"]:
        return handler.send_html(pages.status_page(feed.status_report()["text"]))
    if parts == ["settings"]:
        saved = query.get("saved", "")
        notice = (f"{saved} saved" + ("; the worker was stopped and restarts with it on the next "
                                      "event" if query.get("restarted") else "")) if saved else ""
        return handler.send_html(pages.settings_page(**settings_values(handler.server.secret),
                                                     notice=notice))
    if parts == ["search"]:
        return handler.send_html(pages.search_page(**_search(query)))
    if len(parts) == 2 and parts[0] == "session":
        with feed.open_store() as store:
            return handler.send_html(pages.session_page(_session(store, parts[1])))
    if len(parts) == 2 and parts[0] == "obs":
        with feed.open_store() as store:
            obs, session, neighbours = _observation(store, parts[1])
        return handler.send_html(pages.observation_page(obs, session, neighbours))
    raise NotFound("no such page")

def api(handler, parts: list[str], query: dict) -> None:
    if parts == ["events"]:
        return feed.stream(handler, query)
    if parts == ["status"]:
        return handler.send_json(feed.status_report())
    if parts == ["settings"]:
        return handler.send_json({k: v for k, v in settings_values(handler.server.secret).items() if k not in ("form_key", "secret")})
    if parts == ["search"]:
        found = _search(query)
        hits = [{**hit, "link": pages.result_link(hit),
                 "snippet_html": pages.highlighted(found["snippets"].get((hit["kind"], hit["id"]), ""))}
                for hit in found["hits"]]
        return handler.send_json(hits)
    with feed.open_store() as store:
        if parts == ["feed"]:
            filters = feed.feed_filters(query)
            limit = whole_number(query.get("limit"), "limit", 100, 1, 500)
            cursor = store.feed_cursor()
            items = [feed.feed_item(i) for i in store.feed(**filters, limit=limit)]
            return handler.send_json({"items": items, "cursor": cursor})
        if parts == ["sessions"]:
            limit = whole_number(query.get("limit"), "limit", 50, 1, 500)
            return handler.send_json(store.sessions(query.get("project") or None, limit))
        if len(parts) == 2 and parts[0] == "sessions":
            return handler.send_json(_session(store, parts[1]))
        if len(parts) == 2 and parts[0] == "observations":
            obs, _, (before, after) = _observation(store, parts[1])
            return handler.send_json({**obs, "previous": before, "next": after})
    raise NotFound("no such endpoint")

# -- what the pages and the API share ------------------------------------------------

def _session(store, raw: str) -> dict:
    session_id = record_id(raw, "session")
    if store.session(session_id) is None:
        raise NotFound(f"no session {session_id}")
    return store.session_detail(session_id)

def _observation(store, raw: str):
    obs_id = record_id(raw, "observation")
    obs = store.observation(obs_id)
    if obs is None:
        raise NotFound(f"no observation {obs_id}")
    session = store.session(obs["session_id"])
    around = store.observations_around(obs["session_id"], obs_id, 1, 1)
    return obs, session, ((around["earlier"] or [None])[-1], (around["later"] or [None])[0])

def _search(query: dict) -> dict:
    q = query.get("q", "")
    project = query.get("project") or ""
    type_ = query.get("type") or ""
    kinds = ("observation", "summary", "prompt")
    if type_ and type_ not in kinds:
        raise BadRequest(f"type must be one of: {', '.join(kinds)}")
    limit = whole_number(query.get("limit"), "limit", 30, 1, 100)
    mode = query.get("mode") or None
    if mode is not None and mode not in ("words", "meaning", "both"):
        raise BadRequest("mode must be one of: words, meaning, both")
    from claude_mem import semantic
    from claude_mem.semantic.base import SemanticUnavailable

    with feed.open_store() as store:
        projects = store.projects_by_recency()
        hits, snippets = [], {}
        if q.strip():
            try:
                hits = semantic.search(store, q, mode=mode, project=project or None,
                                       kinds=(type_,) if type_ else kinds, limit=limit)
            except SemanticUnavailable as exc:
                raise BadRequest(str(exc)) from None
            snippets = store.search_snippets(q, hits, start=pages.MATCH_START,
                                             end=pages.MATCH_END)
    return {"q": q, "project": project, "type_": type_, "hits": hits, "snippets": snippets,
            "projects": projects, "limit": limit, "mode": mode or ""}

def settings_values(secret: str) -> dict:
    """What the settings page shows, and the form key its form must carry."""
    settings = config.load()
    # The CLI's settings schema (config.SCHEMA: name -> Setting) says what each one means.
    descriptions = {}
    for name, spec in (getattr(config, "SCHEMA", None) or {}).items():
        allowed = getattr(spec, "allowed", None)
        descriptions[name] = " ".join(filter(None, (
            getattr(spec, "help", ""), f"({allowed()})" if callable(allowed) else "")))
    # Secrets (a team database URL's password) are masked as `claude-mem config` masks them.
    shown = getattr(config, "display_value", lambda name, value: value)
    return {"values": {name: shown(name, value) for name, value in settings.as_dict().items()},
            "secret": set(getattr(config, "SECRET_SETTINGS", ())),
            "defaults": dict(config.DEFAULTS),
            "problems": list(settings.problems), "descriptions": descriptions,
            "form_key": access.form_key(secret) if settings_editable() else None}


def change_setting(handler, form: dict) -> None:
    """POST ``/settings`` from the page's own form (already through ``access.check_write``)."""
    name, value = form.get("name", ""), form.get("value", "")
    if name in getattr(config, "SECRET_SETTINGS", ()) and form.get("action") != "reset" and not value:
        return handler.send_html(pages.settings_page(**settings_values(handler.server.secret),
                                                     error=f"not saved: type the new "
                                                     f"{name} (the page never shows the old one)"), 400)
    try:
        if form.get("action") == "reset":
            config.unset_value(name)
        else:
            config.set_value(name, value)
    except (KeyError, ValueError, getattr(config, "SettingsFileError", ValueError)) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return handler.send_html(pages.settings_page(**settings_values(handler.server.secret),
                                                     error=f"not saved: {message}"), 400)
    log.info(f"viewer: setting {name} changed from the settings page")
    from claude_mem import control

    # As `claude-mem config set` does: the worker reads settings at start, so stop it
    # and the next hook event starts one with the new value.
    restarted = control.worker_lock_held() and control.stop_worker()
    handler.send(303, b"", "text/plain", {"Location": f"/settings?saved={name}"
                                          + ("&restarted=1" if restarted else "")})
