from tests.helpers import sign_in


def test_home_and_sign_in(client, world):
    assert client.get("/").status_code == 200
    r = sign_in(client, "giaovien@thcs1.ninhbinh.edu.vn")
    assert r.status_code == 302
    assert "Người teacher" in client.get("/").get_data(as_text=True)
