"""The app's screens: each presents one step (profile, browse, fit, chat) or a tool (log, help)."""
