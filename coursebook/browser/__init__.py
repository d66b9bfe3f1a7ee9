"""The built book and its teaching kit, opened in headless Chromium (`coursebook browser-check`)."""
