"""Test package of the server tests (plain in/out): the input is a list of commands separated by ";".

    record:LABEL   append "LABEL <process_id> <pid>" to the file named by the environment variable RECORD_FILE
    sleep:SECONDS  sleep
    raise:MESSAGE  raise ValueError(MESSAGE)
    exit:CODE      end the process at once (os._exit)
    print:TEXT     print TEXT to stdout and to stderr
    stream:A|B     send streaming updates A and B
    nosigterm      ignore SIGTERM from now on
anything else is ignored. The output is the input.
"""

import os
import signal
import sys
import time


class Deployment:
    def __init__(self, base_directory, context):
        self.record_file = os.environ.get("RECORD_FILE")
        self.process_id = context["process_id"]

    def request(self, data, context):
        for command in data.split(";"):
            name, _, argument = command.partition(":")
            if name == "record":
                with open(self.record_file, "a") as record:
                    record.write(f"{argument} {self.process_id} {os.getpid()}\n")
            elif name == "sleep":
                time.sleep(float(argument))
            elif name == "raise":
                raise ValueError(argument)
            elif name == "exit":
                os._exit(int(argument))
            elif name == "print":
                print(f"stdout: {argument}", flush=True)
                print(f"stderr: {argument}", file=sys.stderr, flush=True)
            elif name == "stream":
                for part in argument.split("|"):
                    context["streaming_update"](part)
            elif name == "nosigterm":
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return data
