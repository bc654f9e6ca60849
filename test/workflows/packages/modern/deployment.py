"""A package in today's shape: __init__(base_directory, context), a helper module in libraries/, a data file read
relative to the working directory, an environment variable from the init context and the request context used."""

import os

from greeting import greet  # libraries/greeting.py


class Deployment:
    def __init__(self, base_directory, context):
        self.base_directory = base_directory
        self.context = context
        with open("prefix.txt") as file:  # relative: the package directory is the working directory
            self.prefix = file.read().strip()
        self.punctuation = os.environ.get("PUNCTUATION", "?")

    def request(self, data, context):
        context["streaming_update"]("greeting")
        return {
            "text": greet(self.prefix, data["name"]) + self.punctuation,
            "base_directory": self.base_directory,
            "deployment": self.context["deployment"],
            "request_mode": context["request_mode"],
        }
