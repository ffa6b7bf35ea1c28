"""simgate's local development stack (never deployed).

Azure Functions Core Tools cannot be installed everywhere and Service Bus has no emulator without
Docker, so the stack is: Azurite (HTTPS + OAuth) for Table, Blob and Queue; a local Functions host
that serves function_app.app; and an unprivileged OpenSSH sshd as the local simulator.
"""

from commands.local_settings import PROJECT_ROOT

LOCAL_DIR = PROJECT_ROOT / ".local"
