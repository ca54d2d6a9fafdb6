from pledgewatch.cli import main

main()
