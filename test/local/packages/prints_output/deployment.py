"""Writes to stdout and stderr in every way (print, sys.stderr, raw fd writes, a subprocess) and returns data."""

import os
import subprocess
import sys


class Deployment:
    def __init__(self, base_directory, context):
        print("init says hello on stdout")

    def request(self, data, context):
        print(f"print-stdout {data}")
        print(f"print-stderr {data}", file=sys.stderr)
        os.write(1, f"fd1-write {data}\n".encode())
        os.write(2, f"fd2-write {data}\n".encode())
        subprocess.run([sys.executable, "-c", f"print('subprocess-stdout {data}')"], check=True)
        sys.stdout.write("no newline at the end")
        return {"echo": data}
