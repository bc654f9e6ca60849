"""Test package of the server tests: structured; input x (double) and mode (string), output y (double).

mode "ok" returns {"y": x}; the other modes return output that breaks the declared output fields.
"""

OUTPUTS = {
    "ok": lambda x: {"y": x},
    "wrong_type": lambda x: {"y": "not a number"},
    "missing": lambda x: {},
    "extra": lambda x: {"y": x, "extra": 1},
    "nan": lambda x: {"y": float("nan")},
    "not_a_dict": lambda x: [x],
}


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        return OUTPUTS[data["mode"]](data["x"])
