"""Returns what it was given: base_directory, init context, request context, pid, cwd and an env var."""

import os


class Deployment:
    def __init__(self, base_directory, context):
        self.base_directory = base_directory
        self.init_context = dict(context)

    def request(self, data, context):
        return {
            "base_directory": self.base_directory,
            "init_context": self.init_context,
            "request_context": {k: v for k, v in context.items() if k != "streaming_update"},
            "streaming_update_callable": callable(context["streaming_update"]),
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "env": os.environ.get("PROBE_VAR"),
        }
