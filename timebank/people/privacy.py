"""The personal information notice a person agrees to when registered (个人信息保护法 art. 14, 17, 29).

The notice's text is templates/people/_privacy_notice.html; any change to
what it says gets a new NOTICE_VERSION, so each person's recorded consent
names the text they agreed to.
"""

from __future__ import annotations

#: The version of the notice shown now; stored with each person's consent.
NOTICE_VERSION = "2026-12-02"
#: How long a record is kept after the person leaves the programme, as the notice states.
RETENTION_YEARS = 5
