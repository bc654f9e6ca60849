"""Test package of the server-fault tests (plain in/out): the input is a list of commands separated by ";".

    record          append the request id (context["id"]) as one line to the file named by $RECORD_FILE
    sleep:SECONDS   sleep
    pid:FILE        write this worker's pid (os.getpid()) to FILE
    spawn:FILE      start a child process `sleep 600` and write its pid to FILE
    fork:FILE       os.fork(): the child writes its pid to FILE and sleeps 600 s (keeping every inherited fd, the
                    worker's pipe too); the worker then ends at once with os._exit(3)
    garbage         write a frame of junk bytes to the worker's pipe (fd int(sys.argv[1]))
    nosigterm       ignore SIGTERM from now on
    surrogate       raise Exception("bad \\ud800 text") (a lone surrogate in the message)
    raisebig:N      raise Exception with a message of N characters
    deep:N          return a list nested N levels deep ([[[...]]])
    big:N           return a string of N characters
    print:N         print N bytes to stdout (lines of 1 KiB)
anything else is ignored. The output is the input, unless deep or big said otherwise.
"""

import os
import signal
import subprocess
import sys
import time


class Deployment:
    def __init__(self, base_directory, context):
        self.record_file = os.environ.get("RECORD_FILE")

    def request(self, data, context):
        output = data
        for command in data.split(";"):
            name, _, argument = command.partition(":")
            if name == "record":
                with open(self.record_file, "a") as record:
                    record.write(f"{context['id']}\n")
            elif name == "sleep":
                time.sleep(float(argument))
            elif name == "pid":
                _write(argument, os.getpid())
            elif name == "spawn":
                child = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL)
                _write(argument, child.pid)
            elif name == "fork":
                pid = os.fork()
                if pid == 0:
                    _write(argument, os.getpid())
                    time.sleep(600)
                    os._exit(0)
                time.sleep(0.2)
                os._exit(3)
            elif name == "garbage":
                os.write(int(sys.argv[1]), b"\x00\x00\x00\x05junk!")
            elif name == "nosigterm":
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            elif name == "surrogate":
                raise Exception("bad \ud800 text")
            elif name == "raisebig":
                raise Exception("e" * int(argument))
            elif name == "deep":
                output = []
                for _ in range(int(argument) - 1):
                    output = [output]
            elif name == "big":
                output = "x" * int(argument)
            elif name == "print":
                line = "p" * 1023
                for _ in range(int(argument) // 1024):
                    print(line)
                sys.stdout.flush()
        return output


def _write(path, pid):
    with open(path + ".tmp", "w") as f:
        f.write(str(pid))
    os.replace(path + ".tmp", path)
