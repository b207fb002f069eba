"""Rights: works, parties and the approved splits that decide who is paid for a play."""

from dagster import Definitions

from assets.rights.assets import rights_from_split_sheets

defs = Definitions(assets=[rights_from_split_sheets])
