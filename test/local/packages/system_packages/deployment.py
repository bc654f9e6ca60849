"""Has a ubiops.yaml (system packages UbiOps installs with apt), which the local server does not apply."""


class Deployment:
    def request(self, data):
        return data
