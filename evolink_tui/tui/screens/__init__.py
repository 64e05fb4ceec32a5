"""The app's screens: main, gallery, and the modals (models, check by id, key, help...)."""
