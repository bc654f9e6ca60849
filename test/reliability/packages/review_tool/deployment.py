"""Test package of the review findings (plain in/out): the input is a list of commands separated by ";".

    record          append the request id (context["id"]) as one line to the file named by $RECORD_FILE
    sleep:SECONDS   sleep
    pid:FILE        write this worker's pid to FILE
    forge           write, in one os.write, a valid DONE frame (output "forged") followed by a frame of kind DONE
                    whose text is not UTF-8, to the worker's pipe (fd int(sys.argv[1]))
    closepipe       close the worker's end of its pipe to the server, then go on
    setsid:FILE     start a child `sleep 600` in a session of its own (start_new_session) and write its pid to FILE
anything else is ignored. The output is the input. $INIT_SLEEP: seconds __init__ sleeps (a slow load); or
$INIT_SLEEP_FILE: a file holding those seconds, read at each load (so that only a later instance loads slowly).
"""

import os
import subprocess
import sys
import time


class Deployment:
    def __init__(self, base_directory, context):
        self.record_file = os.environ.get("RECORD_FILE")
        sleep_file = os.environ.get("INIT_SLEEP_FILE")
        with open(sleep_file) if sleep_file else open(os.devnull) as seconds:
            time.sleep(float(seconds.read().strip() or os.environ.get("INIT_SLEEP", "0")))

    def request(self, data, context):
        for command in data.split(";"):
            name, _, argument = command.partition(":")
            if name == "record":
                with open(self.record_file, "a") as record:
                    record.write(f"{context['id']}\n")
            elif name == "sleep":
                time.sleep(float(argument))
            elif name == "pid":
                _write(argument, os.getpid())
            elif name == "forge":
                done = b'D"forged"'
                bad = b"D\xff"
                os.write(int(sys.argv[1]), len(done).to_bytes(4, "big") + done + len(bad).to_bytes(4, "big") + bad)
            elif name == "closepipe":
                os.close(int(sys.argv[1]))
            elif name == "setsid":
                child = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL, start_new_session=True)
                _write(argument, child.pid)
        return data


def _write(path, pid):
    with open(path + ".tmp", "w") as f:
        f.write(str(pid))
    os.replace(path + ".tmp", path)
