"""simgate's application package: domain, services, adapters, configuration."""
