"""Pure crypto the server needs and nothing HTTP: password hashing, API token
hashing, and the box that seals site credentials at rest.

It lives below services and server so a use case (create a user, store a
credential, hand a lease its secrets) never has to import the web layer.
"""
