"""ID document numbers: validated, sealed, looked up by keyed hash, shown masked."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken

from timebank.inputs import ascii_digits

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CODES = "10X98765432"
RESIDENT_ID = re.compile(r"^[0-9]{17}[0-9X]$")
OTHER_ID = re.compile(r"^[A-Z0-9]{5,20}$")


class IdNumberError(ValueError):
    """The number is not a valid ID number of its type; the message is an English msgid."""


def normalise(id_type: str, number: str) -> str:
    """The number in canonical form (ASCII digits, upper case), or IdNumberError saying what is wrong."""
    number = re.sub(r"\s+", "", ascii_digits(number or "")).upper()
    if id_type != "resident_id":
        if not OTHER_ID.match(number):
            raise IdNumberError("Use 5 to 20 letters and digits.")
        return number
    if not RESIDENT_ID.match(number):
        raise IdNumberError("A resident ID number has 18 characters: 17 digits and a digit or X.")
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], WEIGHTS))
    if CHECK_CODES[total % 11] != number[17]:
        raise IdNumberError("The resident ID number's check digit is wrong; please check it again.")
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError("The birth date inside the resident ID number is not a real date.") from None
    return number


def resident_id_birth_date(number: str) -> dt.date:
    """The birth date a valid resident ID number carries."""
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def resident_id_sex(number: str) -> str:
    """'M' or 'F', from the 17th digit."""
    return "M" if int(number[16]) % 2 else "F"


def mask(number: str) -> str:
    """`370102199003071234` -> `3701*************4`: nothing that, with the birth date shown beside it, gives the number back.

    A resident ID number is region (6), birth date (8), sequence (3) and a check
    digit. The birth date is shown to the same people, and the check digit ties
    the rest together; so the masked number keeps only the city (4, no more than
    the residence area says) and the last character, leaving thousands of
    candidates. Other documents keep two characters at each end at most.
    """
    if RESIDENT_ID.match(number):
        return number[:4] + "*" * 13 + number[-1]
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 2) + number[-1:]
    return number[:2] + "*" * (len(number) - 4) + number[-2:]


class IdVault:
    """Seals ID numbers and hashes them for duplicate look-up, with keys derived from one data key."""

    def __init__(self, data_key: str) -> None:
        root = data_key.encode()
        self._lookup_key = hmac.new(root, b"timebank id lookup", hashlib.sha256).digest()
        seal_key = hmac.new(root, b"timebank id seal", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(seal_key))

    def lookup_hash(self, id_type: str, number: str) -> str:
        """A keyed hash: equal numbers collide, a dump without the key reveals nothing."""
        return hmac.new(self._lookup_key, f"{id_type}:{number}".encode(), hashlib.sha256).hexdigest()

    def seal(self, number: str) -> str:
        """The number encrypted (authenticated), for the few who must see it whole."""
        return self._fernet.encrypt(number.encode()).decode()

    def open(self, sealed: str) -> str:
        """The number a sealed value holds; ValueError if it was not sealed with this key."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("sealed with another data key") from None
