"""DeploymentRuntime against real worker processes running the packages in test/local/packages/."""

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import psutil
import pytest
from local_helpers import wait_until

from ubiops.local._worker import TRACEBACK_HINT
from ubiops.local.runtime import DeploymentRuntime, Outcome, Ticket

PACKAGES = Path(__file__).resolve().parent / "packages"
CONTEXT: Dict[str, Any] = {
    "project": "proj",
    "deployment": "dep",
    "version": "v1",
    "input_type": "structured",
    "output_type": "structured",
    "input_fields": [{"name": "x", "data_type": "int"}],
    "output_fields": [{"name": "y", "data_type": "int"}],
    "language": "python3.11",
    "environment_variables": {"PROBE_VAR": "probe-value"},
}
TIMEOUT = 60

Factory = Callable[..., DeploymentRuntime]


@pytest.fixture
def runtime_for(tmp_path: Path) -> Iterator[Factory]:
    """Starts runtimes for a package directory name; stops every one of them after the test."""
    runtimes: List[DeploymentRuntime] = []

    def make(package: str, instances: int = 1) -> DeploymentRuntime:
        runtime = DeploymentRuntime(
            PACKAGES / package, context=CONTEXT, instances=instances, log_path=tmp_path / f"{package}.log"
        )
        runtime.start()
        runtimes.append(runtime)
        return runtime

    yield make
    for runtime in runtimes:
        runtime.stop()


TICKETS: Dict[str, Ticket] = {}  #: the last ticket run per request id, for cancel()


def run(
    runtime: DeploymentRuntime,
    data: Any,
    request_id: str = "req",
    request_mode: str = "express",
    timeout: float = TIMEOUT,
    streaming_update: Optional[Callable[[str], None]] = None,
) -> Outcome:
    ticket = Ticket(request_id, json.dumps(data), request_mode, timeout, updates=streaming_update)
    if request_mode == "express":
        ticket.deadline = time.monotonic() + timeout
    TICKETS[request_id] = ticket
    return runtime.run(ticket)


def cancel(request_id: str) -> None:
    TICKETS[request_id].cancel()


def in_thread(fn: Callable[[], Outcome]) -> Callable[[], Outcome]:
    """Runs fn in a thread; the returned callable joins it (bounded) and gives fn's result."""
    box: List[Outcome] = []
    thread = threading.Thread(target=lambda: box.append(fn()))
    thread.start()

    def result() -> Outcome:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "run() did not return"
        return box[0]

    return result


def wait_for_file(path: Path) -> str:
    for _ in range(3000):
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


def sleep_data(tmp_path: Path, name: str, seconds: float, **extra: Any) -> Dict[str, Any]:
    return {"seconds": seconds, "marker_dir": str(tmp_path), "name": name, **extra}


# --- dispatch ---------------------------------------------------------------------------------------------


def test_one_item_goes_to_request(runtime_for: Factory) -> None:
    assert run(runtime_for("echo_request_and_requests"), {"x": 1}) == Outcome(
        "completed", {"via": "request", "item": {"x": 1}}
    )


def test_list_goes_to_requests(runtime_for: Factory) -> None:
    outcome = run(runtime_for("echo_request_and_requests"), [{"x": 1}, {"x": 2}])
    assert outcome.result == [
        {"via": "requests", "batch_size": 2, "item": {"x": 1}},
        {"via": "requests", "batch_size": 2, "item": {"x": 2}},
    ]


def test_one_item_with_only_requests_is_wrapped_and_the_output_unwrapped(runtime_for: Factory) -> None:
    outcome = run(runtime_for("echo_requests_only"), "a", request_id="r-1")
    assert outcome == Outcome("completed", {"via": "requests", "batch_size": 1, "item": "a", "context_id": "r-1"})


def test_requests_may_answer_with_one_dict(runtime_for: Factory) -> None:
    runtime = runtime_for("echo_requests_one_dict")
    assert run(runtime, {"x": 1}).result == {"count": 1}
    assert run(runtime, [{"x": 1}, {"x": 2}, {"x": 3}]).result == {"count": 3}


def test_list_with_only_request_is_handled_per_item_by_old_style_code(runtime_for: Factory) -> None:
    runtime = runtime_for("old_style_no_context")
    assert run(runtime, ["a", "b"]).result == [
        {"via": "request", "item": "a", "loaded": True},
        {"via": "request", "item": "b", "loaded": True},
    ]
    assert run(runtime, "c").result == {"via": "request", "item": "c", "loaded": True}


def test_empty_list_with_only_request_gives_an_empty_list(runtime_for: Factory) -> None:
    assert run(runtime_for("old_style_no_context"), []).result == []


# --- contexts ---------------------------------------------------------------------------------------------


def test_request_context(runtime_for: Factory) -> None:
    result = run(runtime_for("context_probe"), {"x": 1}, request_id="abc", request_mode="batch").result
    assert result["request_context"] == {"id": "abc", "request_mode": "batch", "user_id": "local"}
    assert result["streaming_update_callable"] is True


def test_init_context_base_directory_and_environment(runtime_for: Factory) -> None:
    result = run(runtime_for("context_probe"), {"x": 1}).result
    assert result["init_context"] == {**CONTEXT, "process_id": 0}
    assert result["base_directory"] == str(PACKAGES / "context_probe")
    assert result["cwd"] == str(PACKAGES / "context_probe")
    assert result["env"] == "probe-value"


def test_process_id_is_distinct_per_instance(runtime_for: Factory) -> None:
    runtime = runtime_for("context_probe", instances=2)
    # Idle instances are handed out in turn, so sequential requests visit both.
    results = [run(runtime, {"x": i}).result for i in range(4)]
    by_pid = {r["pid"]: r["init_context"]["process_id"] for r in results}
    assert sorted(by_pid.values()) == [0, 1]


def test_init_with_only_context(runtime_for: Factory) -> None:
    assert run(runtime_for("init_context_only"), "x").result == {"process_id": 0}


# --- failures ---------------------------------------------------------------------------------------------


def test_exception_message_becomes_error_message_and_instance_stays(runtime_for: Factory) -> None:
    runtime = runtime_for("raises")
    assert run(runtime, "x") == Outcome("failed", error_message=f"ValueError: cannot handle x{TRACEBACK_HINT}")
    assert run(runtime, "empty") == Outcome("failed", error_message=f"KeyError{TRACEBACK_HINT}")
    assert run(runtime, "ok") == Outcome("completed", "fine")


@pytest.mark.parametrize(
    "package, data, death",
    [("exits_3", "die", "exit code 3"), ("segfaults", "crash", "killed by signal SIGSEGV")],
)
def test_instance_death_fails_the_request_and_is_replaced(
    runtime_for: Factory, package: str, data: str, death: str
) -> None:
    runtime = runtime_for(package)
    first_pid = run(runtime, "hello").result["pid"]
    outcome = run(runtime, data)
    assert outcome.status == "failed"
    assert outcome.error_message is not None and "died" in outcome.error_message and death in outcome.error_message
    assert not psutil.pid_exists(first_pid), "the dead instance was not reaped"
    after = run(runtime, "again")
    assert after.status == "completed" and after.result["pid"] != first_pid


def test_non_json_output_fails_with_a_clear_message(runtime_for: Factory) -> None:
    runtime = runtime_for("non_json_output")
    for data in ("set", "nan"):
        outcome = run(runtime, data)
        assert outcome.status == "failed"
        assert outcome.error_message is not None and "not JSON-serialisable" in outcome.error_message
    assert run(runtime, "ok").result == "ok"


def test_init_that_raises_fails_every_request_without_restarting(runtime_for: Factory, tmp_path: Path) -> None:
    runtime = runtime_for("init_raises")
    for i in range(3):
        outcome = run(runtime, "x", request_id=f"r{i}")
        assert outcome.status == "failed"
        assert outcome.error_message is not None and "cannot load model weights.bin" in outcome.error_message
    # The log shows the load traceback once: the failed instance was not restarted for every request. (The log
    # pump copies the worker's output in a thread of its own: wait for it, bounded.)
    log = tmp_path / "init_raises.log"
    for _ in range(500):
        if log.exists() and "RuntimeError: cannot load model weights.bin" in log.read_text():
            break
        time.sleep(0.01)
    assert log.read_text().count("RuntimeError: cannot load model weights.bin") == 1


def test_package_without_deployment_py_fails_requests(tmp_path: Path) -> None:
    empty = tmp_path / "empty_package"
    empty.mkdir()
    runtime = DeploymentRuntime(empty, context=CONTEXT, log_path=tmp_path / "log")
    runtime.start()
    try:
        outcome = run(runtime, "x")
    finally:
        runtime.stop()
    assert outcome.status == "failed" and "has no deployment.py" in str(outcome.error_message)


# --- timeout, cancel, stop --------------------------------------------------------------------------------


def test_timeout_fails_the_request_and_the_next_one_succeeds(runtime_for: Factory, tmp_path: Path) -> None:
    runtime = runtime_for("sleeps")
    outcome = run(runtime, sleep_data(tmp_path, "long", 60), timeout=1)
    assert outcome == Outcome("failed", error_message="Request exceeded its timeout of 1 seconds")
    assert run(runtime, {"seconds": 0}).status == "completed"


def test_cancel_a_running_request(runtime_for: Factory, tmp_path: Path) -> None:
    runtime = runtime_for("sleeps")
    result = in_thread(lambda: run(runtime, sleep_data(tmp_path, "long", 60), request_id="long"))
    pid = int(wait_for_file(tmp_path / "long.started").split()[1])
    cancel("long")
    assert result() == Outcome("cancelled")
    assert not psutil.pid_exists(pid), "the cancelled instance was not reaped"
    after = run(runtime, {"seconds": 0})
    assert after.status == "completed" and after.result["pid"] != pid


def test_cancel_and_timeout_kill_a_deployment_that_ignores_sigterm(runtime_for: Factory, tmp_path: Path) -> None:
    runtime = runtime_for("ignores_sigterm")
    result = in_thread(lambda: run(runtime, {"seconds": 60, "marker": str(tmp_path / "m1")}, request_id="a"))
    pid = int(wait_for_file(tmp_path / "m1").split()[1])
    cancel("a")
    assert result() == Outcome("cancelled")
    assert not psutil.pid_exists(pid)
    outcome = run(runtime, {"seconds": 60, "marker": str(tmp_path / "m2")}, timeout=1)
    assert outcome == Outcome("failed", error_message="Request exceeded its timeout of 1 seconds")
    assert not psutil.pid_exists(int(wait_for_file(tmp_path / "m2").split()[1]))
    assert run(runtime, {"seconds": 0, "marker": str(tmp_path / "m3")}).status == "completed"


def test_cancel_a_request_waiting_for_an_instance(runtime_for: Factory, tmp_path: Path) -> None:
    runtime = runtime_for("sleeps")
    busy = in_thread(lambda: run(runtime, sleep_data(tmp_path, "busy", 60), request_id="busy"))
    wait_for_file(tmp_path / "busy.started")
    waiting = in_thread(lambda: run(runtime, {"seconds": 0}, request_id="waiting"))
    for _ in range(3000):  # until the waiting run() has made its ticket
        if "waiting" in TICKETS:
            break
        time.sleep(0.01)
    cancel("waiting")
    assert waiting() == Outcome("cancelled")
    cancel("busy")
    assert busy() == Outcome("cancelled")


def test_stop_is_idempotent_and_reaps_every_worker(tmp_path: Path) -> None:
    runtime = DeploymentRuntime(PACKAGES / "context_probe", context=CONTEXT, instances=2, log_path=tmp_path / "l")
    runtime.start()
    pids = {run(runtime, {"x": i}).result["pid"] for i in range(4)}
    assert len(pids) == 2
    runtime.stop()
    runtime.stop()
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
    assert not {child.pid for child in psutil.Process().children(recursive=True)} & pids
    assert run(runtime, "x") == Outcome("failed", error_message="The server stopped while the request was processing")


def test_stop_ends_running_and_waiting_requests(tmp_path: Path) -> None:
    runtime = DeploymentRuntime(PACKAGES / "sleeps", context=CONTEXT, log_path=tmp_path / "log")
    runtime.start()
    running = in_thread(lambda: run(runtime, sleep_data(tmp_path, "long", 60), request_id="a"))
    pid = int(wait_for_file(tmp_path / "long.started").split()[1])
    waiting = in_thread(lambda: run(runtime, {"seconds": 0}, request_id="b"))
    runtime.stop()
    stopped = Outcome("failed", error_message="The server stopped while the request was processing")
    assert running() == stopped
    assert waiting() == stopped
    assert not psutil.pid_exists(pid)


# --- concurrency, output, streaming, libraries ------------------------------------------------------------


def test_two_instances_run_two_requests_at_once(runtime_for: Factory, tmp_path: Path) -> None:
    runtime = runtime_for("sleeps", instances=2)
    first = in_thread(lambda: run(runtime, sleep_data(tmp_path, "a", 0.1, peers=2), request_id="a"))
    second = in_thread(lambda: run(runtime, sleep_data(tmp_path, "b", 0.1, peers=2), request_id="b"))
    a, b = first().result, second().result
    assert a["met_peers"] and b["met_peers"]
    assert a["start"] < b["end"] and b["start"] < a["end"]
    assert a["pid"] != b["pid"]


def test_one_instance_runs_one_request_at_a_time(runtime_for: Factory, tmp_path: Path) -> None:
    runtime = runtime_for("sleeps", instances=1)
    first = in_thread(lambda: run(runtime, sleep_data(tmp_path, "a", 0.1), request_id="a"))
    second = in_thread(lambda: run(runtime, sleep_data(tmp_path, "b", 0.1), request_id="b"))
    a, b = sorted((first().result, second().result), key=lambda r: r["start"])
    assert a["end"] <= b["start"]


def test_stdout_and_stderr_go_to_the_log_not_the_pipe(runtime_for: Factory, tmp_path: Path) -> None:
    runtime = runtime_for("prints_output")
    assert run(runtime, "one").result == {"echo": "one"}
    assert run(runtime, "two").result == {"echo": "two"}
    wanted = ["init says hello on stdout", "no newline at the end"]
    wanted += [
        f"{source} {n}"
        for source in ("print-stdout", "print-stderr", "fd1-write", "fd2-write", "subprocess-stdout")
        for n in ("one", "two")
    ]
    file = tmp_path / "prints_output.log"
    # the pumps copy each pipe in a thread of their own (a subprocess's output comes later still): wait for all
    wait_until(lambda: file.exists() and all(text in file.read_text() for text in wanted), timeout=10)


def test_streaming_updates_reach_the_callback_in_the_calling_thread(runtime_for: Factory) -> None:
    runtime = runtime_for("streams_updates")
    seen: List[Any] = []
    outcome = run(runtime, {"n": 3}, streaming_update=lambda text: seen.append((text, threading.get_ident())))
    assert outcome == Outcome("completed", {"sent": 4})
    assert [text for text, _ in seen] == ["part 0", "part 1", "part 2", "two\nlines"]
    assert {ident for _, ident in seen} == {threading.get_ident()}
    assert run(runtime, {"n": 2}) == Outcome("completed", {"sent": 3})  # no callback: updates are dropped


def test_a_failing_streaming_callback_does_not_fail_the_request(runtime_for: Factory) -> None:
    def broken(text: str) -> None:
        raise ConnectionResetError("client went away")

    assert run(runtime_for("streams_updates"), {"n": 3}, streaming_update=broken) == Outcome("completed", {"sent": 4})


def test_libraries_folder_is_importable(runtime_for: Factory) -> None:
    assert run(runtime_for("uses_libraries"), "hey") == Outcome("completed", "HEY!")


def test_many_threads_share_the_instances(runtime_for: Factory) -> None:
    runtime = runtime_for("echo_request", instances=2)
    errors: List[Outcome] = []

    def client(thread: int) -> None:
        for i in range(100):
            outcome = run(runtime, {"t": thread, "i": i}, request_id=f"{thread}-{i}")
            if outcome.result != {"t": thread, "i": i}:
                errors.append(outcome)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not errors


# --- bad input --------------------------------------------------------------------------------------------


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="package_dir"):
        DeploymentRuntime(tmp_path / "missing", context=CONTEXT, log_path=tmp_path / "log")
    with pytest.raises(ValueError, match="instances"):
        DeploymentRuntime(PACKAGES / "echo_request", context=CONTEXT, instances=0, log_path=tmp_path / "log")
    runtime = DeploymentRuntime(PACKAGES / "echo_request", context=CONTEXT, log_path=tmp_path / "log")
    with pytest.raises(RuntimeError, match="start"):
        run(runtime, "x")
    with pytest.raises(ValueError, match="request_mode"):
        run(runtime, "x", request_mode="direct")
    for timeout in (0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout"):
            run(runtime, "x", timeout=timeout)


def test_a_dead_instance_stays_unreaped_until_it_is_ended(tmp_path: Path) -> None:
    """Its pid, and so its process group id, must not be free for another process while the server may still
    signal the group: pids wrap around (at 32768 on many systems) and a new worker leads a group of its own, so a
    killpg on a reaped worker's pid could end a stranger. death() reads how it ended without reaping it."""
    import os
    import signal

    from ubiops.local.instance import Instance
    from ubiops.local.logfile import LogFile

    instance = Instance(0, PACKAGES / "echo_request", dict(CONTEXT), LogFile(tmp_path / "log"), 1 << 20)
    try:
        os.kill(instance.pid, signal.SIGKILL)
        assert instance.wait_exit(10)
        assert instance.death() == "killed by signal SIGKILL"
        assert instance.process.returncode is None  # still a zombie: its number is not free
        assert psutil.Process(instance.pid).status() == psutil.STATUS_ZOMBIE
    finally:
        instance.kill()
    assert instance.process.returncode == -signal.SIGKILL
    assert not psutil.pid_exists(instance.pid) or psutil.Process(instance.pid).ppid() != os.getpid()
