"""Its requirements.txt holds only comments and blank lines: it runs in the server's Python."""

import sys


class Deployment:
    def request(self, data):
        return sys.executable
