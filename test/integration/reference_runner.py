"""Runs the reference document's scripts for test_reference_examples.py, each in a process of its own, cheaply:
this process imports ubiops once and forks a child per script, which sets the script's environment and runs its
code unchanged as ``python -c`` would (``__name__ == "__main__"``, file ``<string>``, an uncaught exception printed
as a traceback with exit code 1). A fresh interpreter per script spent most of its time importing.

stdin: a JSON list of {"code", "env", "stdout", "stderr"} (the two are file paths for the child's output); stdout:
a JSON list of the exit codes, in the same order. Single-threaded, so that forking it is safe.

Optional, for test_docs_run.py: the command line names further modules to import before forking (``ubiops.local``);
a job may add "cwd" (its working directory), "file" (run the code as ``python <file>`` would: ``__file__``,
``sys.argv[0]`` and ``sys.path[0]`` from it) and "timeout" (seconds, then SIGALRM ends the child)."""

import builtins
import importlib
import json
import os
import signal
import sys
import traceback

import ubiops  # noqa: F401  (imported once, here: the children start with it loaded)


def _child(job: dict) -> int:
    os.environ.clear()
    os.environ.update(job["env"])
    if job.get("timeout"):
        signal.alarm(job["timeout"])
    if job.get("cwd"):
        os.chdir(job["cwd"])
    filename = job.get("file")
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    if filename:
        sys.argv = [filename]
        sys.path[0] = os.path.dirname(os.path.abspath(filename))
        namespace["__file__"] = filename
    else:
        sys.argv = ["-c"]
        sys.path[0] = ""  # as `python -c`: the working directory
    for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    try:
        exec(compile(job["code"], filename or "<string>", "exec"), namespace)
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def main() -> None:
    for name in sys.argv[1:]:
        importlib.import_module(name)
    jobs = json.load(sys.stdin)
    sys.stdout.flush()
    children = []
    for job in jobs:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(job)
            finally:
                os._exit(code)
        children.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    json.dump(codes, sys.stdout)


if __name__ == "__main__":
    main()
