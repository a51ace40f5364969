"""What the tritonclient scripts share: a case prints "PASS name" or "FAIL name: reason" on its
own line, so one failure does not hide the cases after it; the caller judges the lines."""


def case(name):
    def run(check):
        try:
            check()
            print(f"PASS {name}", flush=True)
        except Exception as error:  # any failure is this case's, reported on its line
            reason = str(error).replace("\n", " ") or type(error).__name__
            print(f"FAIL {name}: {reason}", flush=True)
        return check
    return run


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_grpc_status(call, status, text=""):
    """`call` must fail with this gRPC status ("NOT_FOUND") and a message holding `text`."""
    from tritonclient.utils import InferenceServerException
    try:
        call()
    except InferenceServerException as error:
        expect(error.status() == f"StatusCode.{status}", f"status {error.status()}, want {status}: {error.message()}")
        expect(text in error.message(), error.message())
        return
    raise AssertionError("no error")


def expect_error(call, status):
    """`call` must raise an error with this HTTP status (tritonclient's status() is a string)."""
    try:
        call()
    except Exception as error:
        got = getattr(error, "status", lambda: None)()
        expect(got == status, f"status {got}, want {status}: {error}")
        return
    raise AssertionError("no error")
