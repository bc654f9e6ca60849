"""Execution: the state of one DeploymentRuntime.execute() call, from sending a run to the worker to its last
outcome. It reads the worker's messages for the ticket being run and reacts to everything that can end it: the
answer, a cancel (a skip notice for an item that has not started, the instance ended for the running one), the
instance's exit, a protocol violation, the deadline, a stop."""

import json
import logging
import time
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set, Tuple

from ubiops.local._worker import BEGIN, DONE, ERROR, SKIPPED, UPDATE
from ubiops.local.instance import EXIT_AFTER_EOF, Instance, ProtocolError
from ubiops.local.ticket import STOPPED, Outcome, Report, Ticket, timed_out

if TYPE_CHECKING:
    from ubiops.local.runtime import DeploymentRuntime, Slot

logger = logging.getLogger("ubiops.local")


ENDED_MID_RUN = (
    "The deployment instance was ended (for a cancel, timeout or failure of the request before this one in its "
    "chunk) while it ran this request; it is not run again"
)
MAYBE_RAN = (
    "The deployment instance broke the protocol with the server while this request was queued on it, and may have "
    "run it; it is not run again"
)


class Execution:
    """The state of one execute(): which ticket runs, what ended, whether the instance is still good."""

    def __init__(self, runtime: "DeploymentRuntime", slot: "Slot", tickets: Sequence[Ticket], report: Report) -> None:
        self.runtime = runtime
        self.slot = slot
        self.tickets = tickets
        self.report = report
        self.healthy = True
        self.index = 0  # the ticket being run; the ones before it ended
        self.ended: List[Tuple[Ticket, Outcome]] = []  # not reported yet
        self.skips_sent: Set[str] = set()  # the worker was told to skip these (or never got them)
        self.unsent: Set[str] = set()  # cancelled before the chunk went out: not in the worker's chunk
        self.sent = False  # the chunk went to the worker
        self.broken = False  # the worker broke the protocol: it may have run the items after the current one

    def go(self) -> None:
        first = self.tickets[0]
        if first.deadline is None:
            first.deadline = time.monotonic() + first.timeout
        if self.runtime.broken is not None:
            self._fail_all(self.runtime.broken)
            return
        instance = self.runtime.instance_for(self.slot, first.deadline, lambda: all(t.cancelled for t in self.tickets))
        if instance is None:
            self._end_unstarted(first)
            return
        if not instance.ready and instance.load_error is None:
            self._await_load(instance, first)
        if instance.load_error is not None or not self.healthy or not instance.ready:
            self._fail_all(instance.load_error)
            return
        late = first.deadline is not None and first.deadline <= time.monotonic()
        if late and not first.cancelled:  # its deadline passed while it waited: it must not start
            self._end_unstarted(first)
            return
        self.unsent = unsent = {t.id for t in self.tickets if t.cancelled}
        self.skips_sent = set(unsent)
        if len(unsent) < len(self.tickets):
            self.sent = True
            instance.send(("chunk", [(t.id, t.data, t.mode) for t in self.tickets if t.id not in unsent]))
        begin = time.monotonic()
        while self.index < len(self.tickets) and self.healthy:
            ticket = self.tickets[self.index]
            if ticket.id in unsent:
                outcome = Outcome("cancelled")
            else:
                if ticket.deadline is None:
                    ticket.deadline = begin + ticket.timeout
                outcome = self._wait_for(instance, ticket)
            self.ended.append((ticket, outcome))
            self.index += 1
            if not self.healthy:  # the request has stopped only once its instance has
                self._end(instance)
            begin = time.monotonic()
        if self.healthy and instance.leftover():  # e.g. deployment code wrote frames to the pipe: not for the next run
            self.healthy = False
        self._flush()

    def _wait_for(self, instance: Instance, ticket: Ticket) -> Outcome:
        """Read the worker's messages for this ticket until it ends; react to cancels, exits, timeouts, stops."""
        announced = False
        exited = False
        while True:
            try:
                for kind, text in instance.messages():
                    outcome = self._message(ticket, kind, text)
                    if outcome is not None:
                        return outcome
            except ProtocolError as exc:
                return self._broke(
                    f"The deployment instance broke the protocol with the server ({exc}); was "
                    "something written to its pipe?"
                )
            if exited:
                if self.runtime.stopped:
                    return self._fail(STOPPED)
                return self._fail(f"The deployment instance died while processing the request ({instance.death()})")
            if instance.closed:  # a worker that exits closes the pipe just before it is seen to exit
                exited = instance.wait_exit(EXIT_AFTER_EOF)
                if not exited:
                    return self._broke("The deployment instance closed its pipe to the server")
                instance.read_available()
                continue
            if ticket.cancelled and ticket.id not in self.skips_sent:  # it runs: only ending the instance stops it
                self.healthy = False
                return Outcome("cancelled")
            if self.runtime.stopped:
                return self._fail(STOPPED)
            if ticket.deadline is not None and time.monotonic() >= ticket.deadline:  # after reading what came
                return self._fail(timed_out(ticket.timeout).error_message or "")
            if not announced and not ticket.cancelled:  # a skipped one is not started
                self._flush()
                self.report.started(ticket)
                announced = True
            exited, woken = instance.wait(ticket.deadline, self.slot.wake_fd)
            if exited:
                instance.read_available()
            if woken:
                self.slot.drain()
                self._send_skips(instance)

    def _end(self, instance: Instance) -> None:
        """End the instance; a request it began after the current one ended is ended too, never run again."""
        instance.end()
        if not self.broken:  # else what it sent cannot be trusted: the rest fail as "may have run"
            self._settle_begun(instance)
        self.runtime.discard(self.slot)

    def _settle_begun(self, instance: Instance) -> None:
        """Between the end of the current request and its own end, the worker may have gone on with the chunk."""
        instance.read_available()
        begun = False
        ending = True  # the first answer may still be the ended request's own (it was ended as it answered)
        try:
            for kind, text in instance.messages():
                if kind == UPDATE or self.index >= len(self.tickets):
                    continue
                if ending and kind in (DONE, ERROR):  # every later request's answer follows its BEGIN
                    ending = False
                    continue
                ending = False
                self._pass_unsent()
                if self.index >= len(self.tickets):
                    break
                if kind == BEGIN:
                    begun = True
                    continue
                outcome = self._message(self.tickets[self.index], kind, text) or Outcome("failed")
                self.ended.append((self.tickets[self.index], outcome))
                self.index += 1
                begun = False
        except ProtocolError:
            self.broken = True
            return
        if begun and self.index < len(self.tickets):
            self.ended.append((self.tickets[self.index], Outcome("failed", error_message=ENDED_MID_RUN)))
            self.index += 1

    def _pass_unsent(self) -> None:
        """The worker's messages skip the requests that were never sent to it: they end cancelled."""
        while self.index < len(self.tickets) and self.tickets[self.index].id in self.unsent:
            self.ended.append((self.tickets[self.index], Outcome("cancelled")))
            self.index += 1

    def _message(self, ticket: Ticket, kind: str, text: str) -> Optional[Outcome]:
        if kind == BEGIN:
            return None
        if kind == UPDATE:
            if ticket.updates is not None:
                try:
                    ticket.updates(text)
                except Exception:  # e.g. the streaming client went away; the request goes on
                    ticket.updates = None
            return None
        if kind == DONE:
            try:
                return Outcome("completed", result=json.loads(text))
            except RecursionError:
                return Outcome("failed", error_message="The deployment output is nested too deeply to be stored")
            except ValueError as exc:  # only a forged frame can hold this
                return self._broke(f"The deployment instance sent an output that is not JSON ({exc})")
        if kind == ERROR:
            return Outcome("failed", error_message=text)
        if kind == SKIPPED:
            return Outcome("cancelled")
        return self._broke(f"The deployment instance sent an unexpected message ({kind!r})")

    def _await_load(self, instance: Instance, first: Ticket) -> None:
        """Wait for the package to load; a late or cancelled run leaves it loading for the next one."""

        def give_up() -> bool:
            late = first.deadline is not None and time.monotonic() >= first.deadline
            return self.runtime.stopped or late or all(t.cancelled for t in self.tickets)

        if not instance.await_load(first.deadline, self.slot.wake_fd, self.slot.drain, give_up):
            self.healthy = False
        elif self.runtime.stopped and not instance.ready:
            self.healthy = False

    def _send_skips(self, instance: Instance) -> None:
        for ticket in self.tickets[self.index + 1 :]:
            if ticket.cancelled and ticket.id not in self.skips_sent:
                self.skips_sent.add(ticket.id)
                instance.send(("skip", ticket.id))

    def _broke(self, message: str) -> Outcome:
        """The worker's messages cannot be trusted any more: it may be past the current item already."""
        self.broken = True
        return self._fail(message)

    def _fail(self, message: str) -> Outcome:
        self.healthy = False
        return Outcome("failed", error_message=message)

    def _fail_all(self, load_error: Optional[str]) -> None:
        """The package did not load (every ticket fails with why), or loading was cut short (by a timeout, a
        cancel or a stop: the first ticket ends, the others may run again)."""
        if load_error is not None:
            self.ended += [
                (t, Outcome("cancelled") if t.cancelled else Outcome("failed", error_message=load_error))
                for t in self.tickets
            ]
            self.index = len(self.tickets)
        else:
            self._end_unstarted(self.tickets[0])
        self._flush()

    def _end_unstarted(self, first: Ticket) -> None:
        """No instance to run on (yet): the first ticket ends (cancelled, stopped or timed out)."""
        if self.runtime.stopped and not first.cancelled:
            return  # it never started: free to run again
        self.ended.append((first, self.runtime.unserved(first)))
        self.index = 1
        self._flush()

    def _flush(self) -> None:
        if self.ended:
            ended, self.ended = self.ended, []
            self.report.finished(ended)

    def abandon(self) -> None:
        """After an exception: the instance may be in the middle of anything, so it goes; the tickets that ended are
        reported (they must not run again), the started ticket fails."""
        self.healthy = False
        try:
            self._flush()
        except Exception:
            logger.exception("reporting requests %s failed", ", ".join(t.id for t, _outcome in self.ended))
        if self.index < len(self.tickets):
            ticket = self.tickets[self.index]
            self.index += 1
            try:
                self.report.finished([(ticket, Outcome("failed", error_message="internal error of the local server"))])
            except Exception:
                logger.exception("reporting request %s failed", ticket.id)
        if self.sent:  # the worker may be running the rest of the chunk: none of it may run again
            self.broken = True
            try:
                self.rest()
            except Exception:
                logger.exception("reporting requests %s failed", ", ".join(t.id for t in self.tickets[self.index :]))

    def rest(self) -> List[Ticket]:
        """The tickets that did not start: cancelled ones are reported as such, the others may run again. After the
        worker broke the protocol they may have run (it goes on with the chunk while it is being ended): they fail."""
        rest = list(self.tickets[self.index :])
        self.index = len(self.tickets)
        ended = [(t, Outcome("cancelled")) for t in rest if t.cancelled]
        if self.broken:
            ended += [(t, Outcome("failed", error_message=MAYBE_RAN)) for t in rest if not t.cancelled]
        if ended:
            self.report.finished(ended)
        return [t for t in rest if not t.cancelled and not self.broken]


class Outcomes:
    """A Report that keeps the outcomes, for run()."""

    def __init__(self) -> None:
        self._outcomes: Dict[str, Outcome] = {}

    def started(self, ticket: Ticket) -> None:
        pass

    def finished(self, outcomes: List[Tuple[Ticket, Outcome]]) -> None:
        self._outcomes.update((ticket.id, outcome) for ticket, outcome in outcomes)

    def of(self, ticket: Ticket) -> Optional[Outcome]:
        return self._outcomes.get(ticket.id)
