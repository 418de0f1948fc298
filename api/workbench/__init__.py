"""The reviewer workbench: server-rendered pages under `/review` over the review desk.

Reviewers and admins sign in with their API key and then work with a session cookie; the pages call
the same domain services as the JSON review API (`ReviewDesk`, the audit log, `ReviewStats`).
"""

from api.workbench.app import create_workbench

__all__ = ["create_workbench"]
