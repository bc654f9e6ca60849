"""Raises exceptions that are awkward to describe: data "raising" one whose __str__ raises, "not-str" one whose
__str__ returns an int, "str-subclass" one whose __str__ returns a str subclass that cannot be formatted; "ok"
returns "fine"."""


class StrRaises(Exception):
    def __str__(self):
        raise RuntimeError("no text for this one")


class StrNotStr(Exception):
    def __str__(self):
        return 42


class Unformattable(str):
    def __format__(self, spec):
        raise RuntimeError("no format for this one")


class StrSubclass(Exception):
    def __str__(self):
        return Unformattable("odd text")


class Deployment:
    def __init__(self, base_directory, context):
        pass

    def request(self, data, context):
        if data == "raising":
            raise StrRaises()
        if data == "not-str":
            raise StrNotStr()
        if data == "str-subclass":
            raise StrSubclass()
        return "fine"
