"""iMIS's error answers (shared/reference/imis-rest.md §4), raised anywhere in the engine.

Bodies are ASP.NET Web API's defaults where no iMIS source shows one [I]: a bare `Message`.
A validation failure is a ValidationResultsData whose `Errors.$values[0].Message` says what is
wrong [C: the message path; I: the `$type` strings].
"""

from imis_mock.api.engine.wire import CORE, collection, contract
from imis_mock.services import ServiceError

# [I] ASP.NET Web API's texts for the answers no iMIS source quotes.
ACCESS_DENIED = "Authorization has been denied for this request."
MALFORMED = "The request is invalid."
UNHANDLED = "An error has occurred."
VALIDATION_RESULTS = contract(CORE, "ValidationResultsData")
VALIDATION_RESULT = contract(CORE, "ValidationResultData")
VALIDATION_COLLECTION = contract(CORE, "ValidationResultDataCollection")


class ApiError(ServiceError):
    """A refused API request; `status` is the HTTP status iMIS answers with."""

    status = 400

    def body(self) -> dict:
        return {"Message": self.message}


class AccessDenied(ApiError):
    status = 403

    def __init__(self, message: str = ACCESS_DENIED):
        super().__init__(message)


class NotFound(ApiError):
    status = 404


class Malformed(ApiError):
    """A body that is not JSON, or not the contract the route takes."""

    def __init__(self, message: str = MALFORMED):
        super().__init__(message)


class Unavailable(ApiError):
    """A route the entity has but the mock does not serve (metadata of some entities: 501)."""

    status = 501


class Invalid(ApiError):
    """A write that breaks a rule: answered with ValidationResultsData, nothing stored."""

    def __init__(self, *messages: str):
        super().__init__(messages[0])
        self.messages = list(messages)

    def body(self) -> dict:
        return validation_results(self.messages)


def validation_results(messages: list[str]) -> dict:
    """ValidationResultsData with one error per message and no warnings."""
    errors = [{"$type": VALIDATION_RESULT, "Message": m} for m in messages]
    return {
        "$type": VALIDATION_RESULTS,
        "Errors": collection(VALIDATION_COLLECTION, errors),
        "Warnings": collection(VALIDATION_COLLECTION, []),
    }


def method_not_allowed(method: str) -> dict:
    return {"Message": f"The requested resource does not support http method '{method}'."}


def no_resource(url: str) -> dict:
    return {"Message": f"No HTTP resource was found that matches the request URI '{url}'."}


def unhandled() -> dict:
    return {"Message": UNHANDLED}
