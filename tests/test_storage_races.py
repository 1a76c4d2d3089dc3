"""Two processes on one database: the first inserts of a row race (two polls listing the same page, two schedulers
registering their channels, two fetchers caching one robots.txt). Each side has its own engine, as two processes do."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from storage.deliveries import Deliveries
from storage.repo import Store
from watcher.extract.model import ListItem


def _race(stores: list[Store], action: Callable[[Store], object], rounds: int = 8) -> list[BaseException]:
    """Run `action` on every store at once, `rounds` times; the exceptions raised."""
    errors: list[BaseException] = []
    for _ in range(rounds):
        barrier = threading.Barrier(len(stores))

        def one(store: Store, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                action(store)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return errors


def _count(store: Store, sql_table: str) -> int:
    from storage.core import T_NOTICE, T_ROBOTS

    table = {"notices": T_NOTICE, "robots": T_ROBOTS}[sql_table]
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_two_polls_listing_the_same_page_store_each_item_once(db_url):
    stores = [Store.open(db_url) for _ in range(3)]
    try:
        batch = iter(range(1000))

        def list_page(store: Store) -> None:
            n = next(batch) // 3  # the three stores list the same five items each round
            items = [ListItem(f"http://p/{n}-{i}.html", f"通知{i}", None) for i in range(5)]
            states = store.record_list("s", dict(url=f"http://p/list-{n}"), items)
            assert set(states) == {it.url for it in items}

        assert _race(stores, list_page) == []
        assert _count(stores[0], "notices") == 8 * 5
    finally:
        for s in stores:
            s.close()


def test_two_fetchers_caching_one_robots_txt_at_once(db_url):
    stores = [Store.open(db_url) for _ in range(3)]
    try:
        assert _race(stores, lambda s: s.robots_put("portal.example", 200, "User-agent: *")) == []
        assert _count(stores[0], "robots") == 1
    finally:
        for s in stores:
            s.close()


def test_two_schedulers_registering_channels_at_once(db_url):
    stores = [Store.open(db_url) for _ in range(3)]
    try:
        assert _race(stores, lambda s: Deliveries(s.engine).register_channels(["team", "mail"])) == []
    finally:
        for s in stores:
            s.close()
