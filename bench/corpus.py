"""A realistic synthetic corpus of Vietnamese lesson metadata, and a judged query set over it.

Each material is generated from a *lesson* of the curriculum (subject, grades, lesson name, the
words a description and the lesson's text would use), dressed the way teachers title files
("Bài 12. …", "KHBD …", "Phiếu học tập: …"), with ~65-word descriptions and ~55-word text
excerpts mixing the lesson's own vocabulary with the common pedagogical phrasing every lesson
shares. The judged queries name a lesson the way a teacher would type it (with or without
diacritics, in old or new tone placement, lí/lý); a material's relevance is 2 when it was
generated from that lesson, 1 when from a lesson of the same subject sharing the query's words,
0 otherwise. The engine never sees the lesson labels, only the text.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

# (subject code, grades, lesson name, lesson vocabulary)
LESSONS: list[tuple[str, tuple[str, ...], str, str]] = [
    ("TOAN", ("9",), "Phương trình bậc hai một ẩn", "nghiệm biệt thức delta công thức nghiệm hệ số a b c"),
    ("TOAN", ("9",), "Hệ phương trình bậc nhất hai ẩn", "phương pháp thế cộng đại số nghiệm hệ"),
    ("TOAN", ("8",), "Phương trình bậc nhất một ẩn", "ẩn số nghiệm chuyển vế giải phương trình"),
    ("TOAN", ("9",), "Căn bậc hai và căn bậc ba", "căn thức biến đổi biểu thức rút gọn"),
    ("TOAN", ("9",), "Góc nội tiếp", "đường tròn cung bị chắn số đo góc"),
    ("TOAN", ("9", "8"), "Hàm số bậc nhất", "đồ thị hệ số góc đường thẳng y = ax + b"),
    ("TOAN", ("6",), "Phân số và số thập phân", "tử số mẫu số rút gọn so sánh phân số"),
    ("TOAN", ("5",), "Tỉ số phần trăm", "phần trăm giải toán tỉ số"),
    ("TOAN", ("7",), "Tam giác bằng nhau", "cạnh góc trường hợp bằng nhau chứng minh"),
    ("TOAN", ("8",), "Định lí Pythagore", "tam giác vuông cạnh huyền bình phương"),
    ("TOAN", ("10",), "Mệnh đề và tập hợp", "tập con giao hợp hiệu phần bù"),
    ("TOAN", ("11",), "Giới hạn của dãy số", "dãy số hội tụ vô cực"),
    ("TOAN", ("12",), "Đạo hàm và khảo sát hàm số", "cực trị đồng biến nghịch biến tiệm cận"),
    ("TOAN", ("12",), "Nguyên hàm và tích phân", "diện tích hình phẳng thể tích"),
    ("TOAN", ("7",), "Ma trận đề kiểm tra giữa kì", "đặc tả đề kiểm tra mức độ nhận biết thông hiểu"),
    ("NGU_VAN", ("9",), "Truyện Kiều của Nguyễn Du", "đoạn trích Trao duyên cảnh ngày xuân thân phận"),
    ("NGU_VAN", ("8",), "Văn bản nghị luận", "luận điểm luận cứ lập luận"),
    ("NGU_VAN", ("6",), "Truyện cổ tích Thạch Sanh", "nhân vật cổ tích thiện ác"),
    ("NGU_VAN", ("10",), "Thơ Đường luật", "niêm luật đối thất ngôn bát cú"),
    ("NGU_VAN", ("11",), "Chí Phèo của Nam Cao", "hiện thực nhân đạo bi kịch"),
    ("NGU_VAN", ("12",), "Vợ chồng A Phủ", "Tô Hoài Tây Bắc số phận"),
    ("TIENG_VIET", ("1",), "Học vần: âm và chữ", "đánh vần âm chữ cái tập đọc"),
    ("TIENG_VIET", ("3",), "Luyện từ và câu", "từ chỉ sự vật hoạt động câu"),
    ("TIENG_VIET", ("5",), "Tập làm văn tả cảnh", "miêu tả quan sát bố cục"),
    ("LS_DL", ("6",), "Địa lí tự nhiên Việt Nam", "địa hình khí hậu sông ngòi"),
    ("LS_DL", ("8",), "Địa lí dân cư Việt Nam", "dân số mật độ phân bố dân cư"),
    ("LS_DL", ("7",), "Nhà Trần và kháng chiến chống Mông Nguyên", "Trần Hưng Đạo Bạch Đằng"),
    ("LS_DL", ("9",), "Cách mạng tháng Tám năm 1945", "khởi nghĩa giành chính quyền"),
    ("LS_DL", ("4",), "Thiên nhiên vùng Đồng bằng Bắc Bộ", "đồng bằng sông Hồng đê điều"),
    ("DIA_LI", ("10",), "Bản đồ và phương pháp biểu hiện", "kí hiệu tỉ lệ bản đồ"),
    ("DIA_LI", ("12",), "Địa lí các vùng kinh tế", "vùng kinh tế trọng điểm"),
    ("LICH_SU", ("11",), "Chiến tranh thế giới thứ hai", "phát xít đồng minh"),
    ("LICH_SU", ("12",), "Kháng chiến chống Mỹ cứu nước", "chiến dịch Hồ Chí Minh thống nhất"),
    ("KHTN", ("7",), "Nguyên tử và nguyên tố hoá học", "proton neutron electron kí hiệu"),
    ("KHTN", ("8",), "Axit và bazơ", "thang pH chỉ thị phản ứng trung hoà"),
    ("KHTN", ("6",), "Tế bào là đơn vị cơ sở của sự sống", "màng tế bào nhân tế bào chất"),
    ("KHTN", ("9",), "Điện trở và định luật Ohm", "cường độ dòng điện hiệu điện thế"),
    ("KHTN", ("8",), "Hệ tuần hoàn ở người", "tim mạch máu vòng tuần hoàn"),
    ("HOA_HOC", ("10",), "Liên kết hoá học", "ion cộng hoá trị electron"),
    ("HOA_HOC", ("11",), "Hoá học hữu cơ và hiđrocacbon", "ankan anken ankin"),
    ("HOA_HOC", ("12",), "Este và lipit", "thuỷ phân xà phòng hoá"),
    ("VAT_LI", ("10",), "Chuyển động thẳng biến đổi đều", "gia tốc vận tốc quãng đường"),
    ("VAT_LI", ("11",), "Dao động điều hoà", "chu kì tần số biên độ"),
    ("VAT_LI", ("12",), "Sóng điện từ", "mạch dao động truyền thông"),
    ("SINH_HOC", ("10",), "Cấu trúc tế bào", "bào quan ti thể lục lạp"),
    ("SINH_HOC", ("12",), "Di truyền học Mendel", "lai một cặp tính trạng quy luật phân li"),
    ("TIN_HOC", ("6",), "Thông tin và dữ liệu", "xử lí thông tin bit byte"),
    ("TIN_HOC", ("8",), "Mã hoá thông tin", "mã nhị phân kí tự"),
    ("TIN_HOC", ("10",), "Lập trình Python cơ bản", "biến vòng lặp câu lệnh điều kiện"),
    ("TIN_HOC", ("11",), "Cơ sở dữ liệu", "bảng truy vấn khoá chính"),
    ("CONG_NGHE", ("6",), "Nhà ở và an toàn điện", "đồ dùng điện tiết kiệm năng lượng"),
    ("CONG_NGHE", ("8",), "Vẽ kĩ thuật", "hình chiếu bản vẽ chi tiết"),
    ("NGOAI_NGU_1", ("6",), "Unit 1: My new school", "vocabulary school things present simple"),
    ("NGOAI_NGU_1", ("9",), "Unit 3: Healthy living", "adolescence stress reading speaking"),
    ("AM_NHAC", ("3",), "Hát: Em yêu trường em", "giai điệu nhịp phách"),
    ("MI_THUAT", ("4",), "Vẽ tranh đề tài quê hương", "màu sắc bố cục hình khối"),
    ("GDTC", ("5",), "Bài thể dục phát triển chung", "động tác vươn thở tay chân"),
    ("HDTN", ("2",), "Sinh hoạt lớp: học sinh thân thiện", "kĩ năng sống hợp tác"),
    ("HDTN_HN", ("10",), "Hướng nghiệp: chọn nghề phù hợp", "sở thích năng lực thị trường lao động"),
    ("DAO_DUC", ("1",), "Lễ phép với thầy cô", "kính trọng chào hỏi"),
    ("TU_NHIEN_XA_HOI", ("2",), "Thực vật và động vật quanh em", "cây xanh con vật môi trường sống"),
    ("KHOA_HOC", ("4",), "Nước và vòng tuần hoàn của nước", "bay hơi ngưng tụ mưa"),
    ("GDCD", ("7",), "Bảo vệ di sản văn hoá", "di tích danh lam thắng cảnh"),
    ("GDKTPL", ("11",), "Cạnh tranh và cung cầu", "thị trường giá cả"),
    ("GDQPAN", ("10",), "Đội ngũ từng người không có súng", "nghiêm nghỉ quay tại chỗ"),
    ("GDDP", ("6",), "Di sản Tràng An Ninh Bình", "quần thể danh thắng văn hoá địa phương"),
]
TYPES = ["BAI_GIANG_DIEN_TU", "KE_HOACH_BAI_DAY", "PHIEU_HOC_TAP", "BAI_KIEM_TRA", "VIDEO", "BAN_TRINH_CHIEU",
         "NGAN_HANG_CAU_HOI", "TAI_LIEU_THAM_KHAO"]
TITLE_FORMS = ["Bài {n}. {lesson}", "{lesson}", "KHBD {lesson}", "Phiếu học tập: {lesson}",
               "Bài giảng {lesson} ({series_name})", "Đề kiểm tra 15 phút – {lesson}", "Video: {lesson}",
               "Chủ đề {n}: {lesson}", "Ôn tập {lesson}", "Tiết {n} – {lesson}"]
SERIES = [("KNTT", "Kết nối tri thức"), ("CTST", "Chân trời sáng tạo"), ("CD", "Cánh diều")]
COMMON = [
    "Học sinh thảo luận nhóm và trình bày kết quả trước lớp.",
    "Giáo viên tổ chức hoạt động khởi động bằng trò chơi ngắn.",
    "Hình thành kiến thức mới qua ví dụ minh hoạ và câu hỏi gợi mở.",
    "Luyện tập với bài tập trắc nghiệm và tự luận theo mức độ.",
    "Vận dụng kiến thức vào tình huống thực tiễn của địa phương.",
    "Phát triển năng lực tự học, giao tiếp và hợp tác.",
    "Đánh giá thường xuyên bằng phiếu học tập và nhận xét.",
    "Bài dạy theo chương trình giáo dục phổ thông 2018.",
    "Tài liệu dùng kèm sách giáo khoa và bản trình chiếu.",
    "Giao bài tập về nhà và hướng dẫn chuẩn bị bài sau.",
]
SENTENCE_FORMS = ["Mục tiêu: học sinh hiểu {a} và {b}.", "Nội dung chính gồm {a}, {b}.",
                  "Ví dụ về {a} giúp học sinh nắm {b}.", "Câu hỏi ôn tập về {a}.", "Luyện tập {a} và {b}."]
LICENCES = ["CC_BY_4", "CC_BY_SA_4", "CC_BY_NC_4", "ALL_RIGHTS_SCHOOL"]


@dataclass(frozen=True)
class Row:
    lesson: int
    subject: str
    grades: tuple[str, ...]
    title: str
    description: str
    text: str
    material_type: str
    series: str
    licence: str
    school: int  # 0-based index of the school
    downloads: int
    age_days: int


def _phrase(rng: random.Random, words: list[str]) -> str:
    start = rng.randrange(len(words))
    return " ".join(words[start:start + rng.randint(2, 3)])


def _sentences(rng: random.Random, words: list[str], count: int) -> str:
    own = [rng.choice(SENTENCE_FORMS).format(a=_phrase(rng, words), b=_phrase(rng, words)) for _ in range(count)]
    common = rng.sample(COMMON, 4)
    mixed = own + common
    rng.shuffle(mixed)
    return " ".join(mixed)


def generate(count: int, schools: int = 1600, seed: int = 2026) -> Iterator[Row]:
    """`count` materials, deterministic for a seed; lessons follow a Zipf-like popularity."""
    rng = random.Random(seed)
    weights = [1 / (1 + (i % 23)) for i in range(len(LESSONS))]
    for n in range(count):
        index = rng.choices(range(len(LESSONS)), weights)[0]
        subject, grades, lesson, vocab = LESSONS[index]
        series_code, series_name = rng.choice(SERIES)
        lesson_words = vocab.split()
        title = rng.choice(TITLE_FORMS).format(n=rng.randint(1, 40), lesson=lesson, series_name=series_name)
        description = f"{lesson}. " + _sentences(rng, lesson_words, 3)
        text = f"{lesson}. " + _sentences(rng, lesson_words, 3)
        yield Row(index, subject, grades, title, description, text, rng.choice(TYPES), series_code,
                  rng.choice(LICENCES), rng.randrange(schools), int(rng.paretovariate(1.2)) - 1, rng.randrange(900))


# (query as typed, lesson index it names, filters)
def _lesson(name: str) -> int:
    return next(i for i, lesson in enumerate(LESSONS) if lesson[2] == name)


JUDGED: list[tuple[str, int, dict[str, str]]] = [
    ("phuong trinh bac hai", _lesson("Phương trình bậc hai một ẩn"), {}),
    ("phương trình bậc hai", _lesson("Phương trình bậc hai một ẩn"), {}),
    ("giai phuong trinh bac hai mot an", _lesson("Phương trình bậc hai một ẩn"), {}),
    ("he phuong trinh", _lesson("Hệ phương trình bậc nhất hai ẩn"), {}),
    ("hệ phương trình bậc nhất hai ẩn", _lesson("Hệ phương trình bậc nhất hai ẩn"), {}),
    ("phuong trinh bac nhat mot an", _lesson("Phương trình bậc nhất một ẩn"), {}),
    ("can bac hai", _lesson("Căn bậc hai và căn bậc ba"), {}),
    ("căn bậc ba", _lesson("Căn bậc hai và căn bậc ba"), {}),
    ("goc noi tiep", _lesson("Góc nội tiếp"), {}),
    ("góc nội tiếp đường tròn", _lesson("Góc nội tiếp"), {}),
    ("ham so bac nhat", _lesson("Hàm số bậc nhất"), {}),
    ("hàm số bậc nhất", _lesson("Hàm số bậc nhất"), {"grade": "9"}),
    ("phan so", _lesson("Phân số và số thập phân"), {}),
    ("số thập phân", _lesson("Phân số và số thập phân"), {}),
    ("ti so phan tram", _lesson("Tỉ số phần trăm"), {}),
    ("tỷ số phần trăm", _lesson("Tỉ số phần trăm"), {}),
    ("tam giac bang nhau", _lesson("Tam giác bằng nhau"), {}),
    ("dinh ly pythagore", _lesson("Định lí Pythagore"), {}),
    ("định lý Pythagore", _lesson("Định lí Pythagore"), {}),
    ("menh de tap hop", _lesson("Mệnh đề và tập hợp"), {}),
    ("gioi han day so", _lesson("Giới hạn của dãy số"), {}),
    ("đạo hàm", _lesson("Đạo hàm và khảo sát hàm số"), {}),
    ("khao sat ham so", _lesson("Đạo hàm và khảo sát hàm số"), {}),
    ("tich phan", _lesson("Nguyên hàm và tích phân"), {}),
    ("nguyên hàm", _lesson("Nguyên hàm và tích phân"), {"subject": "TOAN"}),
    ("ma tran de kiem tra", _lesson("Ma trận đề kiểm tra giữa kì"), {}),
    ("ma trận đề", _lesson("Ma trận đề kiểm tra giữa kì"), {}),
    ("truyen kieu", _lesson("Truyện Kiều của Nguyễn Du"), {}),
    ("Truyện Kiều Nguyễn Du", _lesson("Truyện Kiều của Nguyễn Du"), {}),
    ("van ban nghi luan", _lesson("Văn bản nghị luận"), {}),
    ("thach sanh", _lesson("Truyện cổ tích Thạch Sanh"), {}),
    ("truyện cổ tích", _lesson("Truyện cổ tích Thạch Sanh"), {}),
    ("tho duong luat", _lesson("Thơ Đường luật"), {}),
    ("chi pheo", _lesson("Chí Phèo của Nam Cao"), {}),
    ("Chí Phèo Nam Cao", _lesson("Chí Phèo của Nam Cao"), {}),
    ("vo chong a phu", _lesson("Vợ chồng A Phủ"), {}),
    ("hoc van am va chu", _lesson("Học vần: âm và chữ"), {}),
    ("luyen tu va cau", _lesson("Luyện từ và câu"), {}),
    ("tả cảnh", _lesson("Tập làm văn tả cảnh"), {}),
    ("dia li tu nhien viet nam", _lesson("Địa lí tự nhiên Việt Nam"), {}),
    ("địa lý tự nhiên", _lesson("Địa lí tự nhiên Việt Nam"), {}),
    ("dân cư", _lesson("Địa lí dân cư Việt Nam"), {}),
    ("dia ly dan cu", _lesson("Địa lí dân cư Việt Nam"), {}),
    ("nha tran mong nguyen", _lesson("Nhà Trần và kháng chiến chống Mông Nguyên"), {}),
    ("cach mang thang tam", _lesson("Cách mạng tháng Tám năm 1945"), {}),
    ("Cách mạng tháng Tám 1945", _lesson("Cách mạng tháng Tám năm 1945"), {}),
    ("dong bang bac bo", _lesson("Thiên nhiên vùng Đồng bằng Bắc Bộ"), {}),
    ("ban do", _lesson("Bản đồ và phương pháp biểu hiện"), {"subject": "DIA_LI"}),
    ("chien tranh the gioi thu hai", _lesson("Chiến tranh thế giới thứ hai"), {}),
    ("khang chien chong my", _lesson("Kháng chiến chống Mỹ cứu nước"), {}),
    ("nguyen tu nguyen to hoa hoc", _lesson("Nguyên tử và nguyên tố hoá học"), {}),
    ("nguyên tố hóa học", _lesson("Nguyên tử và nguyên tố hoá học"), {}),
    ("axit bazo", _lesson("Axit và bazơ"), {}),
    ("axit và bazơ", _lesson("Axit và bazơ"), {"grade": "8"}),
    ("te bao", _lesson("Tế bào là đơn vị cơ sở của sự sống"), {"subject": "KHTN"}),
    ("dinh luat ohm", _lesson("Điện trở và định luật Ohm"), {}),
    ("he tuan hoan", _lesson("Hệ tuần hoàn ở người"), {}),
    ("liên kết hóa học", _lesson("Liên kết hoá học"), {}),
    ("hidrocacbon", _lesson("Hoá học hữu cơ và hiđrocacbon"), {}),
    ("este lipit", _lesson("Este và lipit"), {}),
    ("chuyen dong thang bien doi deu", _lesson("Chuyển động thẳng biến đổi đều"), {}),
    ("dao động điều hòa", _lesson("Dao động điều hoà"), {}),
    ("song dien tu", _lesson("Sóng điện từ"), {}),
    ("cấu trúc tế bào", _lesson("Cấu trúc tế bào"), {}),
    ("di truyen mendel", _lesson("Di truyền học Mendel"), {}),
    ("thong tin va du lieu", _lesson("Thông tin và dữ liệu"), {}),
    ("mã hóa thông tin", _lesson("Mã hoá thông tin"), {}),
    ("lap trinh python", _lesson("Lập trình Python cơ bản"), {}),
    ("co so du lieu", _lesson("Cơ sở dữ liệu"), {}),
    ("an toan dien", _lesson("Nhà ở và an toàn điện"), {}),
    ("ve ky thuat", _lesson("Vẽ kĩ thuật"), {}),
    ("my new school", _lesson("Unit 1: My new school"), {}),
    ("healthy living", _lesson("Unit 3: Healthy living"), {}),
    ("em yeu truong em", _lesson("Hát: Em yêu trường em"), {}),
    ("vẽ tranh quê hương", _lesson("Vẽ tranh đề tài quê hương"), {}),
    ("the duc phat trien chung", _lesson("Bài thể dục phát triển chung"), {}),
    ("sinh hoat lop", _lesson("Sinh hoạt lớp: học sinh thân thiện"), {}),
    ("huong nghiep chon nghe", _lesson("Hướng nghiệp: chọn nghề phù hợp"), {}),
    ("le phep thay co", _lesson("Lễ phép với thầy cô"), {}),
    ("thuc vat dong vat", _lesson("Thực vật và động vật quanh em"), {}),
    ("vòng tuần hoàn của nước", _lesson("Nước và vòng tuần hoàn của nước"), {}),
    ("di san van hoa", _lesson("Bảo vệ di sản văn hoá"), {}),
    ("cung cau", _lesson("Cạnh tranh và cung cầu"), {}),
    ("doi ngu tung nguoi", _lesson("Đội ngũ từng người không có súng"), {}),
    ("trang an ninh binh", _lesson("Di sản Tràng An Ninh Bình"), {}),
]


def relevance(row_lesson: int, judged_lesson: int, query_keys: set[str], row_keys: set[str]) -> int:
    """2: made from the named lesson; 1: same subject and shares every query word; else 0."""
    if row_lesson == judged_lesson:
        return 2
    same_subject = LESSONS[row_lesson][0] == LESSONS[judged_lesson][0]
    return 1 if same_subject and query_keys <= row_keys else 0
