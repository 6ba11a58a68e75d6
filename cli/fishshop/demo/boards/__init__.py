"""What the demo says, as text: pure functions the live view and summary print."""
