"""The HTTP API's contract: the answers' models and the OpenAPI document made from them."""

API_VERSION = "1.1.0"
