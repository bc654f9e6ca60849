"""Helper module that lives in the package's libraries/ folder."""


def shout(text: str) -> str:
    return text.upper() + "!"
