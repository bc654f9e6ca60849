"""Test package of test_packages.py, written the way most UbiOps packages are: no config, `request()` returns a dict.

It answers what it was given and how it sees itself, and `env` returns the value of an environment variable.
"""

import os


class Deployment:
    def __init__(self, base_directory, context):
        self.base_directory = base_directory
        self.context = context

    def request(self, data, context):
        if isinstance(data, dict) and "env" in data:
            return {"value": os.environ.get(data["env"])}
        return {
            "input": data,
            "input_kind": type(data).__name__,
            "deployment": self.context["deployment"],
            "version": self.context["version"],
            "base_directory": self.base_directory,
        }
