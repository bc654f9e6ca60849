"""Needs inflection, which its requirements.txt pins and the server installs into this package's own environment;
imports a helper from its libraries/ folder and reads a variable of the config. Returns JSON text."""

import json
import os
import sys

import inflection
from casing import title

GREETING = os.environ.get("GREETING")  # set before deployment.py is imported


class Deployment:
    def __init__(self, base_directory, context):
        self.variables = context["environment_variables"]

    def request(self, data):
        return json.dumps(
            {
                "camel": inflection.camelize(data),
                "title": title(data),
                "greeting_at_import": GREETING,
                "greeting": os.environ.get("GREETING"),
                "context_variables": self.variables,
                "executable": sys.executable,
                "prefix": sys.prefix,
            }
        )
