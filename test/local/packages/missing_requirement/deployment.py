"""Its requirements.txt names a package that does not exist: its environment cannot be built."""


class Deployment:
    def request(self, data):
        return data
