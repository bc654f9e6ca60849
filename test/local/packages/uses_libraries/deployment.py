"""Imports a helper module from its libraries/ folder."""

from shouting import shout


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        return shout(data)
