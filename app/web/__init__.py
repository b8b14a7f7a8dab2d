"""The Django site's HTTP layer, for every app: JSON in and out, the one error type rendered in one place, the
middleware the edge relies on, the root index, and the OpenAPI document of the whole Django API with its page.

catalog and jobs hold their own views and rules; what every route shares lives here, so neither app imports the
other for it.
"""
