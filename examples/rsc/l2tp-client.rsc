# RouterOS's L2TP client example (../shared/seeds/002_acb70baa489169bf.txt L130): an enabled
# client of the server at 1.1.1.1 with user l2tp-test.
/interface l2tp-client
add connect-to=1.1.1.1 disabled=no name=l2tp-out1 password=password user=l2tp-test
