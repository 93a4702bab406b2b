"""People: volunteers' national-record profiles, roles, family links, registration."""
