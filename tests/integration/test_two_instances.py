"""Two `receptionist serve` processes sharing one PostgreSQL (a real cluster started by the
tests), each its own ARI app on the sandbox Asterisk, as two instances of a deployment are.

1. The shared outbox under SIGKILLs: 500 messages are taken through the call flow's store
   path while a driver SIGKILLs either instance at random points and restarts it; every
   other kill lands mid-POST (the receiver has taken the POST and holds its answer).
   Every event reaches a real webhook receiver; an event reaches it twice only when a
   kill came between its first POST and the "sent" mark (at least once,
   docs/webhooks.md), every POST cut off that way is sent again, and the repeat carries
   the same event id and document, so the receiver can drop it.
2. One inbox: a call taken by each instance leaves a message; a staff user signed in to
   either instance's web page sees both calls and both messages.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import free_port
from receptionist.store.log import AsyncStore, Store
from receptionist.store.users import Users
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script, ToolCall
from tests.fakes.receivers import Received, WebhookReceiver
from tests.fakes.tones import tone as tone24
from tests.integration.harness import AudioSocketPeer, EventWatcher, eventually, place_call
from tests.integration.live import SLUG, business_yaml
from tests.integration.serve_process import serve_env, start_serve, wait_exit
from tests.postgres import Cluster
from tests.web_site import FAST_HASH, PASSWORD

pytestmark = pytest.mark.integration

EVENTS = 500
KILLS = 8
AHEAD = 60  # messages written ahead of the receiver, so a kill finds work in flight


@dataclass
class Instance:
    """One serve process, restarted after each kill; all its output kept."""

    name: str
    env: dict[str, str]
    cwd: Path
    outputs: list[list[str]] = field(default_factory=list)
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.outputs.append([])
        self.process = await start_serve(self.env, self.cwd, self.outputs[-1])

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await wait_exit(self.process)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await wait_exit(self.process, 30)

    def worker(self) -> str:
        """The running process's delivery worker: the owner its leases name."""
        found = re.findall(r"delivery worker started owner=(\S+)", "".join(self.outputs[-1]))
        assert found, "".join(self.outputs[-1])
        return str(found[-1])


def _instances(
    sandbox: SandboxInfo, tmp_path: Path, database: str, realtime_urls: list[str]
) -> list[Instance]:
    found = []
    for name, url in zip("AB", realtime_urls, strict=True):
        env = serve_env(sandbox, tmp_path, app=f"rx-{name.lower()}-{uuid.uuid4().hex[:6]}",
                        realtime_url=url, metrics_port=free_port())  # fmt: skip
        env["RECEPTIONIST_DATABASE"] = database
        found.append(Instance(name, env, tmp_path))
    return found


def _by_event(hook: WebhookReceiver) -> dict[str, list[Received]]:
    received: dict[str, list[Received]] = defaultdict(list)
    for item in hook.accepted():
        received[item.json["id"]].append(item)
    return received


async def test_the_shared_outbox_delivers_every_event_across_random_sigkills(
    sandbox: SandboxInfo, pg_cluster: Cluster, tmp_path: Path, report: dict[str, object]
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    database = pg_cluster.new_database()
    async with WebhookReceiver() as hook:
        # A killed worker's lease (timeout + 10 s) runs out within the test; the timeout is
        # longer than the receiver ever holds an answer, so only kills cause repeats.
        channel = {"type": "webhook", "url": hook.url, "timeout_seconds": 8}
        business_yaml(tmp_path / "businesses", notifications={"channels": [channel]})
        reader = Store(database)  # makes the schema, once, before both start
        no_model = ["ws://127.0.0.1:9"] * 2  # no call is made here: the model is never asked
        instances = _instances(sandbox, tmp_path, database.secret(), no_model)
        store = await AsyncStore(database).open()
        kills: list[tuple[float, str]] = []  # (time.time(), instance) of each SIGKILL
        orphaned: list[
            int
        ] = []  # events and deliveries each kill left under the dead worker's lease
        held: list[
            int
        ] = []  # at each mid-POST kill: the victim's POSTs the receiver took, unanswered
        written = 0

        def delivered() -> int:  # events received, repeats counted once
            return len({item.headers["X-Receptionist-Event-Id"] for item in hook.accepted()})

        async def until_delivered(count: int) -> None:
            await eventually(lambda: delivered() >= count, timeout=60)

        # Kill points, as positions in the stream of messages: the writer stops at each
        # until that kill is under way, so kills land while messages are in flight.
        points = sorted(rng.sample(range(10, EVENTS - 10), KILLS))
        reached = [asyncio.Event() for _ in points]
        go_on = [asyncio.Event() for _ in points]

        async def take_messages() -> None:
            # As a call takes a message: the call row, the message (its outbox event is
            # written in the same transaction), the outcome, the end.
            nonlocal written
            for index in range(EVENTS):
                if index in points:
                    reached[points.index(index)].set()
                    await go_on[points.index(index)].wait()
                await until_delivered(written - AHEAD)
                call_id = f"call-{index}"
                await store.start_call(call_id, SLUG, "+15550000000", None)
                await store.add_message(call_id, SLUG, f"Caller {index}", "+15550000000",
                                        f"message {index}")  # fmt: skip
                await store.add_outcome(call_id, "message_taken")
                await store.end_call(call_id)
                written += 1

        def in_flight() -> dict[str, int]:
            """Deliveries each running instance has claimed and not yet marked."""
            owners = {instance.worker(): instance.name for instance in instances}
            rows = reader.sql.query(
                "SELECT lease_owner, count(*) AS n FROM deliveries WHERE status = 'pending'"
                " AND lease_owner IS NOT NULL GROUP BY lease_owner"
            )
            return {
                owners[r["lease_owner"]]: int(r["n"]) for r in rows if r["lease_owner"] in owners
            }

        async def mid_post() -> Instance | None:
            """Hold the receiver's answers until every claimed delivery's POST has arrived
            and waits there; the instance to kill then has POSTs the receiver took but never
            answered. None if that does not settle well within the send timeout."""
            claimed: dict[str, int] = {}

            def settled() -> bool:
                claimed.clear()
                claimed.update(in_flight())
                return bool(claimed) and sum(claimed.values()) == hook.waiting

            try:
                await eventually(settled, timeout=2)
            except TimeoutError:
                return None
            busy = [instance for instance in instances if claimed.get(instance.name)]
            victim = rng.choice(busy) if busy else None
            held.append(claimed.get(victim.name, 0) if victim else 0)
            return victim

        async def kill_at_random() -> None:
            # Either instance, at each kill point: every other kill waits, with the
            # receiver's answers held, until the victim's POSTs have arrived unanswered.
            restart: asyncio.Task[None] | None = None
            for number in range(KILLS):
                await reached[number].wait()
                if restart is not None:
                    await restart  # both instances run before the next kill
                go_on[number].set()  # messages keep coming while the victim dies
                victim = None
                if number % 2:
                    hook.gate = asyncio.Event()
                    victim = await mid_post()
                victim = victim or rng.choice(instances)
                worker = victim.worker()
                kills.append((time.time(), victim.name))
                try:
                    await victim.kill()
                finally:
                    if hook.gate is not None:
                        hook.gate.set()
                        hook.gate = None
                [row] = reader.sql.query(
                    "SELECT (SELECT count(*) FROM events WHERE lease_owner = :w)"
                    " + (SELECT count(*) FROM deliveries WHERE lease_owner = :w) AS n",
                    {"w": worker},
                )
                orphaned.append(int(row["n"]))
                restart = asyncio.create_task(victim.start())
            if restart is not None:
                await restart

        started = time.monotonic()
        try:
            await asyncio.gather(*(instance.start() for instance in instances))
            await asyncio.gather(take_messages(), kill_at_random())
            taken = reader.sql.query("SELECT id FROM events WHERE type = 'message.taken'")
            events = {row["id"] for row in taken}
            assert len(events) == EVENTS
            await eventually(lambda: set(_by_event(hook)) >= events, timeout=60)
            # A POST the receiver took just before a kill is sent again once the killed
            # worker's lease runs out: wait for every delivery to be marked sent.
            await eventually(lambda: _statuses(reader) == {"sent"}, timeout=60)
            elapsed = time.monotonic() - started
        finally:
            await asyncio.gather(*(instance.stop() for instance in instances))
            await store.close()
            reader.close()
    received = _by_event(hook)
    assert set(received) == events  # none lost, none invented
    kill_times = [at for at, _ in kills]
    repeats = {event: items for event, items in received.items() if len(items) > 1}
    for event, items in repeats.items():
        # Only a kill between the first POST and the repeat explains it; each carries the
        # same event id (body and header) and the same document.
        first, last = items[0].at, items[-1].at
        assert any(first <= at <= last for at in kill_times), (event, first, last, kills)
        assert len({item.body for item in items}) == 1
    # Each POST a mid-POST kill cut off was sent again by the survivor, once.
    assert len(repeats) >= sum(held), (held, len(repeats))
    # Each POST a mid-POST kill cut off was sent again by the survivor, once.
    assert len(repeats) >= sum(held), (held, len(repeats))
    for item in hook.accepted():
        assert item.headers["X-Receptionist-Event-Id"] == item.json["id"]
        assert item.json["type"] == "message.taken" and item.json["call"]["id"].startswith("call-")
    both = {name for _, name in kills}
    report["outbox_two_instances_seed"] = seed
    report["outbox_two_instances_events"] = EVENTS
    report["outbox_two_instances_kills"] = f"{len(kills)} ({', '.join(sorted(both))})"
    report["outbox_two_instances_leased_rows_left_by_kills"] = orphaned
    report["outbox_two_instances_mid_post_kills_unanswered_posts"] = held
    report["outbox_two_instances_posts"] = len(hook.accepted())
    report["outbox_two_instances_redelivered_events"] = len(repeats)
    report["outbox_two_instances_redeliveries"] = len(hook.accepted()) - len(events)
    report["outbox_two_instances_seconds"] = round(elapsed, 1)


def _statuses(store: Store) -> set[str]:
    return {row["status"] for row in store.sql.query("SELECT status FROM deliveries")}


MESSAGES = {
    "A": {"caller_name": "Ann Able", "callback_number": "(555) 234-5678",
          "message": "Please call me about my filling."},
    "B": {"caller_name": "Bob Baker", "callback_number": "(555) 876-5432",
          "message": "I need to move my cleaning."},
}  # fmt: skip


async def test_staff_see_the_calls_of_both_instances_in_one_inbox(
    ari: AriClient, sandbox: SandboxInfo, pg_cluster: Cluster, tmp_path: Path
) -> None:
    database = pg_cluster.new_database()
    business_yaml(tmp_path / "businesses")
    store = Store(database)
    Users(store.sql, cost=FAST_HASH).add("frontdesk", PASSWORD, "staff", [SLUG])
    # Each instance's model greets and takes its caller's message at once.
    scripts = {name: Script(replies=[Reply(tone24(1000, 0.6), "Thanks for calling.",
                                           calls=(ToolCall("take_message", message),))])
               for name, message in MESSAGES.items()}  # fmt: skip
    async with (
        FakeRealtimeServer(scripts["A"]) as fake_a,
        FakeRealtimeServer(scripts["B"]) as fake_b,
        EventWatcher(ari, "test-caller") as watcher,
        AudioSocketPeer() as ear,
    ):
        instances = _instances(sandbox, tmp_path, database.secret(), [fake_a.url, fake_b.url])
        calls: dict[str, str] = {}
        try:
            await asyncio.gather(*(instance.start() for instance in instances))
            for instance in instances:
                app = instance.env["RECEPTIONIST_ARI_APP"]
                variables = {"__RECEPTIONIST_APP": app, "__RECEPTIONIST_BUSINESS": SLUG}
                call = await place_call(ari, watcher, ear, "5551234", variables=variables)
                calls[instance.name] = call.dialplan_id
            names = {m["caller_name"] for m in MESSAGES.values()}
            await eventually(lambda: {m.caller_name for m in store.list_messages()} >= names, 30)
            for call_id in calls.values():
                await ari.hangup(call_id)
            await eventually(lambda: all(_ended(store, c) for c in calls.values()), 20)
            for instance in instances:  # the same inbox on either instance's page
                await _inbox_shows(instance, calls)
        finally:
            await asyncio.gather(*(instance.stop() for instance in instances))
            store.close()
    # Each call was taken by its own instance: its model saw the call, the other's did not.
    assert len(fake_a.sent_events("response.done")) >= 1
    assert len(fake_b.sent_events("response.done")) >= 1


def _ended(store: Store, call_id: str) -> bool:
    record = store.get_call(call_id)
    return record is not None and record.ended_at is not None and bool(record.messages)


async def _inbox_shows(instance: Instance, calls: dict[str, str]) -> None:
    port = instance.env["RECEPTIONIST_WEB_PORT"]
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for an IP-address host
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar) as http:
        page = await (await http.get("/login")).text()
        csrf = re.search(r'name="csrf" value="([^"]*)"', page)
        assert csrf, page
        form = {"username": "frontdesk", "password": PASSWORD, "csrf": csrf[1], "next": "/inbox"}
        inbox = await http.post("/login", data=form)
        assert inbox.status == 200 and inbox.url.path == "/inbox", inbox.status
        html = await inbox.text()
        for message in MESSAGES.values():
            assert message["caller_name"] in html and message["message"] in html, instance.name
        listed = await (await http.get("/calls")).text()
        for call_id in calls.values():
            assert call_id in listed, (instance.name, call_id)
