"""Test package: a syntax error on line 7, so the server must refuse to start and name the file and line."""


class Deployment:
    def request(self, data):
        total = (
            data +
        return total
