"""A helper in libraries/, which UbiOps puts on the import path; it uses the environment's inflection too."""

import inflection


def title(text):
    return inflection.titleize(text)
