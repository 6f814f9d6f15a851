import sys
import traceback

import marketplace.core.errors as e

orig = e.render_error


def patched(code, *a, **k):
    if code == 500:
        traceback.print_exception(*sys.exc_info(), file=sys.__stderr__)
    return orig(code, *a, **k)


e.render_error = patched
