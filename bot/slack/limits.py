"""Slack's size limits, in one place (https://docs.slack.dev/reference/block-kit)."""

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELD = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 75  # Slack documents 150 in places and 75 in others: stay safe
STATIC_OPTIONS = 100
MODAL_TITLE = 24
PRIVATE_METADATA = 3000
CONTEXT_TEXT = 2000
MESSAGE_TEXT = 40_000
