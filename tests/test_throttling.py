"""Sign-in limits hold across workers and hosts, see the real client behind a configured proxy, and lock no owner out."""

from __future__ import annotations

import multiprocessing
import os
import secrets

import pytest
import redis

from timebank.app import create_app
from timebank.auth.throttle import SQLiteStorage
from tests.conftest import PASSWORD, csrf_token

STRANGER, OWNER = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def throttled_app(db, tmp_path, monkeypatch):
    """Makes apps with the limits on, as in production; apps made with the same folder share the embedded store."""
    made = []

    def make(instance: str = "instance", **config):
        monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / instance))
        app = create_app({"TESTING": True, "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                          "SECRET_KEY": "x", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": True, **config})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["timebank.database"].dispose()


def attempt(client, phone: str, password: str = "wrong", forwarded_for: str | None = None):
    """One sign-in through the form, from the client's address (or the one its proxy forwards)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/sign-in", data={"phone": phone, "password": password, "csrf_token": csrf_token(client)}, headers=headers)


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_stranger_failing_on_the_owners_phone_number_does_not_lock_the_owner_out(throttled_app, make_person):
    app = throttled_app()
    owner = make_person()
    stranger = client_at(app, STRANGER)
    answers = [attempt(stranger, owner.phone).status_code for _ in range(12)]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    assert attempt(client_at(app, OWNER), owner.phone, PASSWORD).status_code == 302


def _worker(answer, instance: str, url: str, phone: str, times: int, address: str, config: dict) -> None:
    """A worker process of its own: its own app, its own limiter, the store it is configured with."""
    os.environ["TIMEBANK_INSTANCE_PATH"] = instance
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x", "DATA_KEY": "test-only-data-key",
                      "RATELIMIT_ENABLED": True, **config})
    answer.send([attempt(client_at(app, address), phone).status_code for _ in range(times)])


def in_workers(db, instances: list, phone: str, times: int, address: str = STRANGER, **config) -> list[int]:
    """Wrong passwords from one address, `times` in each worker process in turn, as gunicorn's workers would take them."""
    url, context, answers = db.engine.url.render_as_string(hide_password=False), multiprocessing.get_context("fork"), []
    for instance in instances:
        ours, theirs = context.Pipe()
        worker = context.Process(target=_worker, args=(theirs, str(instance), url, phone, times, address, config))
        worker.start()
        assert ours.poll(60), "the worker process gave no answer"
        answers += ours.recv()
        worker.join()
    return answers


def test_limits_hold_across_worker_processes_sharing_the_embedded_store(db, tmp_path, make_person):
    person = make_person()
    answers = in_workers(db, [tmp_path / "instance"] * 3, person.phone, 3)  # three workers, one instance folder
    assert answers == [401] * 5 + [429] * 4


def test_limits_hold_across_hosts_sharing_redis(db, tmp_path, make_person):
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379").ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379 ({exc})")
    person = make_person()
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"  # counters of this test alone
    hosts = [tmp_path / "host-a", tmp_path / "host-b"]  # each host its own instance folder
    answers = in_workers(db, hosts, person.phone, 4, address, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379")
    assert answers == [401] * 5 + [429] * 3


def test_behind_a_configured_proxy_the_forwarded_client_address_is_throttled(throttled_app, monkeypatch):
    monkeypatch.setenv("TIMEBANK_TRUSTED_PROXIES", "1")
    proxy = client_at(throttled_app(), "127.0.0.1")
    busy = [attempt(proxy, f"1300000{n:04d}", forwarded_for=STRANGER).status_code for n in range(21)]
    assert busy[:20] == [401] * 20 and busy[20] == 429
    assert attempt(proxy, "13000009999", forwarded_for=OWNER).status_code == 401  # another client behind the proxy


def test_without_a_configured_proxy_a_forged_forwarded_header_changes_nothing(throttled_app):
    client = client_at(throttled_app(), STRANGER)
    answers = [attempt(client, f"1300000{n:04d}", forwarded_for=f"10.0.0.{n}").status_code for n in range(21)]
    assert answers[:20] == [401] * 20 and answers[20] == 429


def _count_up(path: str, times: int) -> None:
    storage = SQLiteStorage(f"timebank+sqlite:///{path}")
    for _ in range(times):
        storage.incr("sign-in", 60)


def test_the_embedded_store_counts_every_hit_from_processes_at_once(tmp_path):
    path = tmp_path / "ratelimits.db"
    processes = [multiprocessing.get_context("fork").Process(target=_count_up, args=(str(path), 50)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert SQLiteStorage(f"timebank+sqlite:///{path}").get("sign-in") == 200
