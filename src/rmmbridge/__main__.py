from rmmbridge.cli import main

main()
