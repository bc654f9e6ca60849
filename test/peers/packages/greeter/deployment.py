"""Plain in, plain out: prints a line on stdout and one on stderr, streams two updates, answers "hello <data>"."""

import sys


class Deployment:
    def __init__(self, base_directory, context):
        print("greeter loaded")

    def request(self, data, context):
        print(f"greeting {data}")
        print(f"a warning about {data}", file=sys.stderr)
        context["streaming_update"](f"thinking about {data}")
        context["streaming_update"]("almost there")
        return f"hello {data}"
