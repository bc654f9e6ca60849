def greet(prefix, name):
    return f"{prefix}, {name}"
